FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/app/var
WORKDIR /app
RUN useradd --create-home --uid 1000 nors
COPY pyproject.toml README.md ./
COPY nors nors
COPY monitoring monitoring
COPY clients clients
COPY dispatch dispatch
COPY sandbox sandbox
COPY benchmarks benchmarks
RUN pip install --no-cache-dir .
COPY . .
RUN mkdir -p var && chown nors var
USER nors
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "nors.asgi:application"]
