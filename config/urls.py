from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.forms import LoginForm
from config import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("inventory/", include("inventory.urls")),
    path("audit/", include("iam_audit.urls")),
    path("admin/", admin.site.urls),
]

# 400, 403 and 404 use Django's handlers with templates/400.html, 403.html and 404.html (rendered with
# the request, so the layout shows the navigation); 500 must not depend on what may have failed.
handler500 = views.server_error
