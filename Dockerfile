FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sync ./sync
COPY schemas ./schemas
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8080
CMD ["sksync", "run"]
