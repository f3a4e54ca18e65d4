// One streamed run through the official node SDK (`openai` on npm), as its docs write the
// handlers: `toolCallCreated` / `toolCallDelta`. Prints one JSON line of what they were given.
// Env: BASE_URL, API_KEY, THREAD_ID, ASSISTANT_ID.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY,
                            maxRetries: 0 });
const seen = { created: [], deltaTypes: [], input: "", logs: [] };
const stream = client.beta.threads.runs
  .stream(process.env.THREAD_ID, { assistant_id: process.env.ASSISTANT_ID })
  .on("toolCallCreated", (toolCall) => {
    seen.created.push({ type: toolCall.type, input: toolCall.code_interpreter?.input });
  })
  .on("toolCallDelta", (delta) => {
    seen.deltaTypes.push(delta.type);
    if (delta.type === "code_interpreter") {
      if (delta.code_interpreter.input) seen.input += delta.code_interpreter.input;
      for (const output of delta.code_interpreter.outputs ?? []) {
        if (output.type === "logs") seen.logs.push(output.logs);
      }
    }
  });
const run = await stream.finalRun();
const steps = await client.beta.threads.runs.steps.list(process.env.THREAD_ID, run.id,
                                                        { order: "asc" });
seen.status = run.status;
seen.recordedInput = steps.data[0].step_details.tool_calls[0].code_interpreter.input;
console.log(JSON.stringify(seen));
