FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
# Only what production runs: the service, without the local stack (devstack/, the 'local' extra).
COPY sync ./sync
COPY schemas ./schemas
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8080
CMD ["sksync", "run"]
