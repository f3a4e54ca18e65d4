# The orchestrator image: API, workers and beat share it (the command picks the role).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ORCH_DATA_DIR=/data
WORKDIR /app

COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
COPY workers ./workers
COPY sandbox ./sandbox
RUN pip install . && useradd --system --uid 10001 --home-dir /app orch \
    && mkdir -p /data && chown orch /data

USER orch
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
ENTRYPOINT ["orchestrator"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
