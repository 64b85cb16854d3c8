"""Personal settings (manual §15): language, dark mode, menu position; `me` shows them."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.mutations import mutate
from graph.permissions import needs
from graph.rules import unset_if_null
from resolvers.identity.enums import Language, MenuPositionEnum
from resolvers.identity.preferences.rules import Preferences, set_preferences
from resolvers.identity.users.schema import UserPayload
from resolvers.identity.users.types import User


@strawberry.input(description="Your personal settings; what is left out (or null) stays as it is.")
class MyPreferencesInput:
    language: Language | None = strawberry.field(default=None, description="Language of the portal and your mails.")
    dark_mode: bool | None = strawberry.field(default=None, description="Show the portal in dark mode.")
    menu_position: MenuPositionEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Where the portal shows its menu."
    )

    def to_preferences(self) -> Preferences:
        return Preferences(
            language=unset_if_null(self.language.value if self.language is not None else None),
            dark_mode=unset_if_null(self.dark_mode),
            menu_position=unset_if_null(self.menu_position),
        )


@strawberry.type
class PreferencesMutation:
    @strawberry.mutation(
        description="Set your own language, dark mode and menu position.", permission_classes=[needs()]
    )
    async def my_preferences_set(self, info: Info, input: MyPreferencesInput) -> UserPayload:
        context = info.context
        return await mutate(
            context,
            UserPayload,
            lambda s: set_preferences(s, context, input.to_preferences()),
            lambda user: UserPayload(user=User.from_model(user), errors=[]),
        )
