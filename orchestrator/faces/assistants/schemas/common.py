"""Shared wire pieces: metadata, tools, response formats, tool resources, lists, deletions."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from jsonschema import SchemaError
from jsonschema.validators import validator_for
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

# Re-exported: this face's schemas import them from here.
from orchestrator.api.wire import Metadata as Metadata
from orchestrator.api.wire import Request as Request

T = TypeVar("T")
INT32 = 2**31 - 1  # the largest integer every database column here can hold
Version = Literal["v1", "v2"]


class Wire(BaseModel):
    """Base of response objects."""

    model_config = ConfigDict(extra="allow")


_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class FunctionDefinition(Request):
    """A function tool's definition; `parameters` must be a valid JSON Schema object."""

    name: str
    description: str | None = Field(default=None, max_length=1024)
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _FUNCTION_NAME.match(value):
            raise ValueError(
                "function name must be 1-64 characters of a-z, A-Z, 0-9, underscores or dashes"
            )
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        try:
            validator_for(value).check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"parameters is not a valid JSON Schema: {exc.message}") from None
        if value.get("type", "object") != "object":
            raise ValueError("parameters must describe a JSON object ('type': 'object')")
        return value


class CodeInterpreterTool(Request):
    """{"type": "code_interpreter"}."""

    type: Literal["code_interpreter"]


class RetrievalTool(Request):
    """{"type": "retrieval"} (v1 only)."""

    type: Literal["retrieval"]


class RankingOptions(Request):
    """file_search ranking options."""

    ranker: Literal["auto", "default_2024_08_21"] | None = None
    score_threshold: float = Field(ge=0, le=1)


class FileSearchSettings(Request):
    """file_search overrides."""

    max_num_results: int | None = Field(default=None, ge=1, le=50)
    ranking_options: RankingOptions | None = None


class FileSearchTool(Request):
    """{"type": "file_search", "file_search"?: {...}} (v2)."""

    type: Literal["file_search"]
    file_search: FileSearchSettings | None = None


class FunctionTool(Request):
    """{"type": "function", "function": {...}}."""

    type: Literal["function"]
    function: FunctionDefinition


Tool = Annotated[
    CodeInterpreterTool | RetrievalTool | FileSearchTool | FunctionTool,
    Field(discriminator="type"),
]
TOOL_TAGS = frozenset({"code_interpreter", "retrieval", "file_search", "function"})
# Every discriminator value of this face's tagged unions (the error envelope's `param` skips them).
UNION_TAGS = TOOL_TAGS | {"text", "json_object", "json_schema", "image_file", "image_url", "auto",
                         "static"}


class JSONSchemaFormat(Request):
    """Structured-output settings."""

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormatText(Request):
    """{"type": "text"}."""

    type: Literal["text"]


class ResponseFormatJSONObject(Request):
    """{"type": "json_object"}."""

    type: Literal["json_object"]


class ResponseFormatJSONSchema(Request):
    """{"type": "json_schema", "json_schema": {...}}."""

    type: Literal["json_schema"]
    json_schema: JSONSchemaFormat


ResponseFormat = (
    Literal["auto"]
    | Annotated[
        ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema,
        Field(discriminator="type"),
    ]
)


MAX_CODE_FILES = 20  # code-interpreter files of one assistant or thread


class CodeInterpreterResources(Request):
    """Files available to the code interpreter."""

    file_ids: list[str] = Field(default_factory=list, max_length=MAX_CODE_FILES)


class ChunkingStatic(Request):
    """Static chunking parameters."""

    max_chunk_size_tokens: int = Field(ge=100, le=4096)
    chunk_overlap_tokens: int = Field(ge=0, le=2048)

    @model_validator(mode="after")
    def _overlap_at_most_half(self) -> ChunkingStatic:
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            raise ValueError("chunk_overlap_tokens must not exceed half of"
                             " max_chunk_size_tokens")
        return self


class ChunkingStrategy(Request):
    """{"type": "auto"} or {"type": "static", "static": {...}}."""

    type: Literal["auto", "static"]
    static: ChunkingStatic | None = None

    @model_validator(mode="after")
    def _static_given(self) -> ChunkingStrategy:
        if self.type == "static" and self.static is None:
            raise ValueError("chunking_strategy of type 'static' needs 'static'")
        if self.type == "auto" and self.static is not None:
            raise ValueError("chunking_strategy of type 'auto' takes no 'static'")
        return self


class NewVectorStore(Request):
    """The `vector_stores` helper on create: a store made from file ids."""

    file_ids: list[str] = Field(default_factory=list, max_length=10000)
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata = None


class FileSearchResources(Request):
    """Vector stores available to file_search."""

    vector_store_ids: list[str] | None = Field(default=None, max_length=1)
    vector_stores: list[NewVectorStore] | None = Field(default=None, max_length=1)


class ToolResources(Request):
    """Per-tool resources of an assistant or thread (v2)."""

    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


class Deleted(Wire):
    """{"id", "object": "<type>.deleted", "deleted": true}."""

    id: str
    object: str
    deleted: bool = True
