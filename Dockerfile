# Production-like image for web, worker, beat and the sandbox (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# WeasyPrint needs Pango and its fonts.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=build-only FIELD_ENCRYPTION_KEY=build-only-0000000000000000000000000000000000= \
    POWEROFFICE_APPLICATION_KEY=build POWEROFFICE_SUBSCRIPTION_KEY=build \
    python manage.py collectstatic --noinput

RUN useradd --create-home bitnet && chown -R bitnet /app
USER bitnet
EXPOSE 8000
CMD ["gunicorn", "bitnet.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
