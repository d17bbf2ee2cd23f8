FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml ./
RUN pip install --no-cache-dir . 
COPY . .
# collectstatic loads the settings, which refuse to start without strong keys. It gets a throwaway random set made
# for this one command and never written into the image: the containers set their own keys at run time.
RUN pip install --no-cache-dir --no-deps -e . && env $(python -m config.keys new) python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "--config", "python:config.gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000"]
