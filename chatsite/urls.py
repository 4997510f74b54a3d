from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from chat.locale import set_language

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("chat.auth_urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    # The djangojs catalog of the active language, loaded by base.html before the app's modules.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("chat_api.urls")),
    path("", include("chat.urls")),
]
