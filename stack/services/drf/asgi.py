"""ASGI entry point under uvicorn: migrate the SQLite database and seed the demo user, then serve.

Migrating at startup is what many container entrypoints do; the demo user's password follows the stack's
secret (INFRAGATE_LOCAL_DRF_PASSWORD), so a rotated secret takes effect at the next start.
"""

from __future__ import annotations

import os
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stack.services.drf.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.management import call_command  # noqa: E402

DEMO_EMAIL = "demo@example.test"


def _bootstrap() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    model = get_user_model()
    user, _ = model.objects.get_or_create(username="demo", defaults={"email": DEMO_EMAIL})
    password = os.environ["INFRAGATE_LOCAL_DRF_PASSWORD"]
    if user.email != DEMO_EMAIL or not user.check_password(password):
        user.email = DEMO_EMAIL
        user.set_password(password)
        user.save()


def _bootstrap_outside_event_loop() -> None:
    # uvicorn imports this module inside its running event loop, where Django refuses ORM calls
    # (SynchronousOnlyOperation): run the bootstrap in a plain thread and re-raise its error here.
    errors: list[BaseException] = []

    def target() -> None:
        try:
            _bootstrap()
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=target, name="drf-bootstrap")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


_bootstrap_outside_event_loop()
application = get_asgi_application()
