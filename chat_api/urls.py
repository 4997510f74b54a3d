"""The API (/api/v1/), its docs page (/api/docs) and the settings page of tokens, bots and webhooks."""

from django.urls import path

from . import views
from .api import api

# No app namespace: ninja reverses its own "api-v1:..." names, which a namespace around it would hide.
urlpatterns = [
    path("api/v1/", api.urls),
    path("api/docs", views.docs, name="api-docs"),
    path("api/tokens/", views.tokens, name="api-tokens"),
]
