"""GraphQL documents of the metering point tests."""

from __future__ import annotations

POINT_FIELDS = (
    "id resource roomName accountNumber timeZone own "
    "address { handle source country city street house postcode latitude longitude displayName } "
    "meter { serialNumber manufacturer model network displayName }"
)
CREATE = (
    "mutation($input: MeteringPointCreateInput!) { meteringPointCreate(input: $input) "
    f"{{ meteringPoint {{ {POINT_FIELDS} }} errors {{ code field message }} }} }}"
)
UPDATE = (
    "mutation($input: MeteringPointUpdateInput!) { meteringPointUpdate(input: $input) "
    f"{{ meteringPoint {{ {POINT_FIELDS} }} errors {{ code field message }} }} }}"
)
DELETE = (
    "mutation($input: MeteringPointDeleteInput!) { meteringPointDelete(input: $input) "
    "{ deletedId errors { code field message } } }"
)
BIND = (
    "mutation($input: MeterBindInput!) { meterBind(input: $input) "
    f"{{ meteringPoint {{ {POINT_FIELDS} }} errors {{ code field message }} }} }}"
)
UNBIND = (
    "mutation($input: MeterUnbindInput!) { meterUnbind(input: $input) "
    f"{{ meteringPoint {{ {POINT_FIELDS} }} errors {{ code field message }} }} }}"
)
LIST = (
    "query($filter: MeteringPointFilter, $first: Int) { meteringPoints(filter: $filter, first: $first) "
    f"{{ totalCount nodes {{ {POINT_FIELDS} }} }} }}"
)
NODE = f"query($id: ID!) {{ node(id: $id) {{ __typename ... on MeteringPoint {{ {POINT_FIELDS} }} }} }}"
SEARCH = (
    "query($query: String!, $first: Int! = 10) { addressSearch(query: $query, first: $first) "
    "{ addresses { handle source country city street house postcode latitude longitude displayName } "
    "errors { code field message } } }"
)
