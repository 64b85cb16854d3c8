async def test_me(gql, world):
    result = await gql("{ me { email organisation { name } roles } }", token=world.tokens["admin_a"])
    assert result["data"]["me"] == {
        "email": "admin@a.example",
        "organisation": {"name": "Tenant A"},
        "roles": ["ORGANISATION_ADMIN"],
    }
