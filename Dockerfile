FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/app/var
WORKDIR /app
RUN useradd --create-home --uid 1000 nors
COPY . .
# Editable, so settings find templates/, static/ and locale/ beside the code in /app.
RUN pip install --no-cache-dir -e . && mkdir -p var && chown nors var
USER nors
EXPOSE 8000
CMD ["python", "-m", "nors.serve", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
