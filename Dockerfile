# The production image for web, worker and beat (and the demo profile's sandbox), see
# docker-compose.yml. Production is the default: DEBUG off, secrets from the environment.
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
# collectstatic runs with throwaway values of the production secrets (a fresh Fernet key, never
# kept): the image itself holds no secret and, run without its environment, refuses to start.
RUN DJANGO_SECRET_KEY=build-only-not-a-secret \
    FIELD_ENCRYPTION_KEY="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    POWEROFFICE_APPLICATION_KEY=build-only POWEROFFICE_SUBSCRIPTION_KEY=build-only \
    python manage.py collectstatic --noinput

RUN useradd --create-home bitnet && chown -R bitnet /app
USER bitnet
EXPOSE 8000
CMD ["gunicorn", "bitnet.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
