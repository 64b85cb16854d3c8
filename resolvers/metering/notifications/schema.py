"""The bell (meteringPointSubscribe, meteringPointUnsubscribe; MeteringPoint.subscribed reads it) and the browsers'
Web Push subscriptions (pushSubscriptionRegister, pushSubscriptionRemove, webPushPublicKey)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from graph.mutations import mutate
from graph.permissions import needs
from models import metering as mt
from models.identity import Permission
from resolvers.metering.errors import MeteringError
from resolvers.metering.notifications.rules import register_browser, remove_browser, subscribe, unsubscribe
from resolvers.metering.notifications.vapid import public_key
from resolvers.metering.points.schema import MeteringPointPayload, point_payload

READERS = [needs(Permission.METERING_READ)]


@strawberry.input(description="A metering point whose transfers to hear of (or no longer).")
class MeteringPointSubscriptionInput:
    metering_point_id: strawberry.ID = strawberry.field(description="The metering point.")


@strawberry.input(description="The keys of a browser's push subscription (PushSubscription.toJSON().keys).")
class PushKeysInput:
    p256dh: str = strawberry.field(description="The browser's P-256 public key, base64url.")
    auth: str = strawberry.field(description="The browser's authentication secret, base64url.")


@strawberry.input(description="A browser's push subscription, as the Push API hands it out.")
class PushSubscriptionRegisterInput:
    endpoint: str = strawberry.field(description="The push service's URL for this browser (https).")
    keys: PushKeysInput = strawberry.field(description="Its encryption keys.")


@strawberry.input(description="A browser to send no more pushes to.")
class PushSubscriptionRemoveInput:
    endpoint: str = strawberry.field(description="The endpoint it was registered with.")


@strawberry.type(description="A browser that receives Web Push notifications of subscribed points' transfers.")
class PushSubscription:
    endpoint: str = strawberry.field(description="The push service's URL for the browser.")
    created_at: datetime = strawberry.field(description="When it was first registered.")


@strawberry.type(description="The registered browser, or why it was refused.")
class PushSubscriptionPayload:
    push_subscription: PushSubscription | None = strawberry.field(description="Null when refused.")
    errors: list[MeteringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="Whether the browser was registered (false: it was not, nothing changed).")
class PushSubscriptionRemovePayload:
    removed: bool | None = strawberry.field(description="True when it was registered; null when refused.")
    errors: list[MeteringError] = strawberry.field(description="Why it was refused (nothing changed).")


def _browser_payload(row: mt.PushSubscription) -> PushSubscriptionPayload:
    return PushSubscriptionPayload(
        push_subscription=PushSubscription(endpoint=row.endpoint, created_at=row.created_at), errors=[]
    )


@strawberry.type
class NotificationQuery:
    @strawberry.field(
        description="The server's VAPID public key (base64url): the applicationServerKey of "
        "PushManager.subscribe(). The same for every browser until the server's database is replaced.",
        permission_classes=READERS,
    )
    async def web_push_public_key(self, info: Info) -> str:
        return await public_key(info.context.runtime)


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        description="Ring the bell: hear of every transfer of the point's integrations, succeeded or failed, by "
        "mail to your confirmed contact addresses and by Web Push to your registered browsers. Idempotent.",
        permission_classes=READERS,
    )
    async def metering_point_subscribe(self, info: Info, input: MeteringPointSubscriptionInput) -> MeteringPointPayload:
        return await mutate(
            info.context,
            MeteringPointPayload,
            lambda s: subscribe(s, info.context, input.metering_point_id),
            point_payload,
        )

    @strawberry.mutation(description="Silence the bell of a point. Idempotent.", permission_classes=READERS)
    async def metering_point_unsubscribe(
        self, info: Info, input: MeteringPointSubscriptionInput
    ) -> MeteringPointPayload:
        return await mutate(
            info.context,
            MeteringPointPayload,
            lambda s: unsubscribe(s, info.context, input.metering_point_id),
            point_payload,
        )

    @strawberry.mutation(
        description="Register this browser's push subscription for your notifications (again: its keys are "
        "updated). The endpoint must be a public https URL.",
        permission_classes=READERS,
    )
    async def push_subscription_register(
        self, info: Info, input: PushSubscriptionRegisterInput
    ) -> PushSubscriptionPayload:
        return await mutate(
            info.context,
            PushSubscriptionPayload,
            lambda s: register_browser(s, info.context, input.endpoint, input.keys.p256dh, input.keys.auth),
            _browser_payload,
        )

    @strawberry.mutation(description="Send no more pushes to this browser.", permission_classes=READERS)
    async def push_subscription_remove(
        self, info: Info, input: PushSubscriptionRemoveInput
    ) -> PushSubscriptionRemovePayload:
        return await mutate(
            info.context,
            PushSubscriptionRemovePayload,
            lambda s: remove_browser(s, info.context, input.endpoint),
            lambda removed: PushSubscriptionRemovePayload(removed=removed, errors=[]),
        )
