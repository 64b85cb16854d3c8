"""Points where other domains act on identity changes without identity importing them (graph.domain.Hook)."""

from graph.domain import Hook

#: (session, user_ids) after users left a group, lost a role or permission, or were deactivated, in the
#: changing transaction: what they may reach shrank (remote ends their router connections there).
REACH_SHRANK = Hook("identity.reach_shrank")
