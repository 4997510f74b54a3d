from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("chat.auth_urls")),
    path("", include("chat_api.urls")),
    path("", include("chat.urls")),
]
