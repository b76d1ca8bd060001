"""Admin building blocks shared by the apps."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from kyc import crypto
from kyc.audit.chain import Actor

#: The admin pages' own styles (band bars, guidance, the impact preview).
ADMIN_CSS = {"all": ("vendors/admin.css",)}

S = TypeVar("S")


def actor_of(request: HttpRequest) -> Actor:
    """Who an admin action is audited as."""
    return Actor.user(request.user)


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Lists and shows rows that only the application's own services write."""

    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- pages that ask before they act ----------------------------------------------------------


@dataclass(frozen=True)
class Done:
    """The action is over: back to the object's page, saying what happened."""

    message: str
    #: The object's admin history entry; empty when the action found nothing to change.
    history: str = ""
    level: int = messages.INFO


@dataclass(frozen=True)
class ShownOnce:
    """The action made a secret: this page is the only one that will ever show it."""

    secret: str
    kind: str
    usage: str
    history: str
    #: What is kept to recognise the secret later (a key's prefix); empty when nothing is.
    identifier: str = ""
    #: The page's title; empty keeps the title of the page that asked.
    title: str = ""


def _no_warning(subject: Any) -> str:
    return ""


def _the_object(obj: Any) -> Any:
    return obj


@dataclass(frozen=True)
class ConfirmedAction(Generic[S]):
    """A change made from its own admin page of an object: GET asks, POST acts once.

    `perform` calls an audited service and says what to answer. `subject` finds what the page is
    about from the object and the other URL parts (by default the object itself). The texts are
    functions of the subject so that each reads its state when the page is shown.
    """

    title: Callable[[S], str]
    question: Callable[[S], str]
    button: str
    perform: Callable[[S, Actor, Mapping[str, Any]], Done | ShownOnce]
    warning: Callable[[S], str] = _no_warning
    danger: bool = False
    form: type[forms.Form] | None = None
    subject: Callable[..., S] = _the_object


#: Session key of the secret a ShownOnce action made, until its page is opened.
_SHOWN_ONCE = "kyc_admin_shown_once"


def _sealed(obj: Model, title: str, answer: ShownOnce) -> dict[str, str]:
    # Encrypted under the master key: sessions live in the database, secrets never do in clear.
    return {
        "object": str(obj.pk),
        "title": title,
        "secret": base64.b64encode(crypto.encrypt(answer.secret.encode())).decode("ascii"),
        "kind": answer.kind,
        "usage": answer.usage,
        "identifier": answer.identifier,
    }


class ConfirmedActionsAdmin(admin.ModelAdmin):
    """Serves ConfirmedActions on the pages of an object, to staff who may change it.

    Templates: admin/<app>/<model>/confirm.html (the question, the form if any) and
    secret_once.html, which get the admin's page context plus `change_url`, the object's page.
    """

    def confirmed_action_path(
        self, route: str, action: ConfirmedAction[Any], name: str
    ) -> URLPattern:
        """The URL `<object_id>/<route>` of `action`; further parts of `route` go to `subject`."""
        view = self.admin_site.admin_view(self.confirmed_action_view)
        return path(f"<path:object_id>/{route}", view, {"action": action}, name=name)

    def confirmed_action_view(
        self, request: HttpRequest, object_id: str, action: ConfirmedAction[Any], **parts: Any
    ) -> HttpResponse:
        obj = self._object_to_change(request, object_id)
        subject = action.subject(obj, **parts)
        posted = request.method == "POST"
        form = action.form(request.POST if posted else None) if action.form else None
        if posted and (form is None or form.is_valid()):
            answer = action.perform(subject, actor_of(request), form.cleaned_data if form else {})
            if answer.history:
                self.log_change(request, obj, answer.history)
            if isinstance(answer, ShownOnce):
                # Post/redirect/get: reloading the page that shows the secret must not act again.
                # Until that page is opened, the secret waits in the session, encrypted.
                title = answer.title or action.title(subject)
                request.session[_SHOWN_ONCE] = _sealed(obj, title, answer)
                return HttpResponseRedirect(self._shown_once_url(obj))
            self.message_user(request, answer.message, answer.level)
            return HttpResponseRedirect(self._change_url(obj))
        context = {
            "question": action.question(subject),
            "warning": action.warning(subject),
            "button": action.button,
            "danger": action.danger,
            "form": form,
        }
        page = self._page(request, obj, action.title(subject))
        return TemplateResponse(request, self._template("confirm.html"), page | context)

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        shown_once = path(
            "<path:object_id>/shown-once/",
            self.admin_site.admin_view(self.shown_once_view),
            name=f"{opts.app_label}_{opts.model_name}_shown_once",
        )
        return [shown_once, *super().get_urls()]

    def shown_once_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The page a ShownOnce action redirects to: the secret the first time, then never."""
        obj = self._object_to_change(request, object_id)
        sealed = request.session.get(_SHOWN_ONCE)
        if not sealed or sealed.get("object") != str(obj.pk):
            context: dict[str, str | None] = {"secret": None}
            title = "Already shown"
        else:
            del request.session[_SHOWN_ONCE]
            secret = crypto.decrypt(base64.b64decode(sealed["secret"])).decode()
            context = {
                "secret": secret,
                "secret_kind": sealed["kind"],
                "usage": sealed["usage"],
                "identifier": sealed["identifier"],
            }
            title = sealed["title"]
        page = self._page(request, obj, title)
        response = TemplateResponse(request, self._template("secret_once.html"), page | context)
        # Never cached, never replayed by the back button: the secret exists on this page only.
        response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        response["Pragma"] = "no-cache"
        return response

    def _object_to_change(self, request: HttpRequest, object_id: str) -> Model:
        """The object of the URL, for staff who may change it: 404 or 403 otherwise. Checked on
        GET as well: these pages offer a change, so only those who may make it see them."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No such {self.opts.verbose_name}.")
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def _shown_once_url(self, obj: Model) -> str:
        opts = self.opts
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_shown_once", args=[quote(obj.pk)])

    def _template(self, name: str) -> str:
        # Where the admin looks for a model's own templates.
        return f"admin/{self.opts.app_label}/{self.opts.model_name}/{name}"

    def _change_url(self, obj: Model) -> str:
        opts = self.opts
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])

    def _page(self, request: HttpRequest, obj: Model, title: str) -> dict[str, Any]:
        """What the admin's base template and the breadcrumbs need on a page of `obj`."""
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.opts,
            "original": obj,
            "has_view_permission": True,
            "change_url": self._change_url(obj),
        }
