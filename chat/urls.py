"""The chat page and its per-room deep links."""

from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("", views.index, name="index"),
    path("room/<str:name>/", views.room, name="room"),
]
