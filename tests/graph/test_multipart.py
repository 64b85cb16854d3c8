"""GraphQL multipart requests (file uploads) over real HTTP requests: the spec's fields, malformed
requests, the size limit, Accept negotiation. deviceImport with dryRun is the upload they carry."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from graph.app import create_app
from graph.settings import Settings
from graph.uploads import UploadError, UploadProblem, read_upload
from models.catalogue import Device
from tests.environment import app_client, make_settings

DRY_RUN = """mutation($file: Upload!) {
  deviceImport(input: {file: $file, dryRun: true}) { deviceCount keyCount dryRun errors { code field message } }
}"""
GOOD_FILE = (
    b"serial_number,product_type,key_kind,algorithm,key\n"
    b"MP0001,aquastream LoRa,LORAWAN_APP_KEY,AES_128,00112233445566778899aabbccddeeff\n"
)


def operations(query: str = DRY_RUN, variables: dict | None = None) -> str:
    return json.dumps({"query": query, "variables": {"file": None} if variables is None else variables})


async def post(
    client: httpx.AsyncClient,
    token: str | None,
    data: dict,
    files: dict | None = None,
    accept: str | None = "application/graphql-response+json",
) -> httpx.Response:
    headers = {}
    if accept is not None:
        headers["Accept"] = accept
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/graphql", data=data, files=files, headers=headers)


def upload(content: bytes = GOOD_FILE, name: str = "keys.csv") -> dict:
    return {"0": (name, content, "text/csv")}


async def test_good_upload_reaches_the_resolver(client, world):
    response = await post(
        client,
        world.tokens["platform"],
        {"operations": operations(), "map": json.dumps({"0": ["variables.file"]})},
        upload(),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    result = response.json()["data"]["deviceImport"]
    assert result == {"deviceCount": 1, "keyCount": 1, "dryRun": True, "errors": []}


async def test_file_inside_the_input_object_and_a_query(client, world):
    query = "mutation($input: DeviceImportInput!) { deviceImport(input: $input) { deviceCount errors { message } } }"
    ops = operations(query, {"input": {"file": None, "dryRun": True}})
    response = await post(
        client,
        world.tokens["platform"],
        {"operations": ops, "map": json.dumps({"0": ["variables.input.file"]})},
        upload(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["deviceImport"] == {"deviceCount": 1, "errors": []}
    # queries are fine over multipart too (a map may be empty)
    fields = {"operations": (None, operations("{ me { email } }", {})), "map": (None, "{}")}  # multipart without a file
    response = await post(client, world.tokens["platform"], {}, fields)
    assert response.json()["data"] == {"me": {"email": "root@platform.example"}}


async def test_accept_negotiation_works_as_for_json(client, world, runtime):
    data = {"operations": operations(), "map": json.dumps({"0": ["variables.file"]})}
    legacy = await post(client, world.tokens["platform"], data, upload(), accept="application/json")
    assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("application/json")
    assert legacy.json()["data"]["deviceImport"]["deviceCount"] == 1
    none = await post(client, world.tokens["platform"], data, upload(), accept=None)
    assert none.headers["content-type"].startswith("application/graphql-response+json")
    refused = await post(client, world.tokens["platform"], data, upload(), accept="text/html")
    assert refused.status_code == 406
    # a validation error: 400 with graphql-response+json, 200 for legacy clients, as for JSON bodies
    bad = {
        "operations": operations("mutation($file: Upload!) { deviceImport(input: {file: $file}) { nope } }"),
        "map": json.dumps({"0": ["variables.file"]}),
    }
    assert (await post(client, world.tokens["platform"], bad, upload())).status_code == 400
    assert (await post(client, world.tokens["platform"], bad, upload(), accept="application/json")).status_code == 200
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Device)) == 0  # dry runs only


async def test_anonymous_upload_is_refused(client, world):
    """A cross-site form post carries no Authorization header: it runs anonymously."""
    response = await post(
        client, None, {"operations": operations(), "map": json.dumps({"0": ["variables.file"]})}, upload()
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("data", "files", "expected"),
    [
        ({"operations": "{not json", "map": '{"0": ["variables.file"]}'}, True, "`operations` is not valid JSON"),
        ({"operations": operations(), "map": "[not json"}, True, "`map` is not valid JSON"),
        ({"map": '{"0": ["variables.file"]}'}, True, "needs the field `operations`"),
        ({"operations": operations()}, True, "needs the field `map`"),
        (
            {"operations": "[" + operations() + "]", "map": '{"0": ["variables.0.file"]}'},
            True,
            "batching is not supported",
        ),
        ({"operations": operations(), "map": '["variables.file"]'}, True, "`map` must be a JSON object"),
        ({"operations": operations(), "map": '{"0": "variables.file"}'}, True, "must be a non-empty list of paths"),
        (
            {"operations": operations(), "map": '{"1": ["variables.file"]}'},
            True,
            "names the file `1`, which is not in the request",
        ),
        (
            {"operations": operations(), "map": '{"0": ["variables.file"]}'},
            False,
            "names the file `0`, which is not in the request",
        ),
        ({"operations": operations(), "map": '{"0": ["variables.other"]}'}, True, "`variables.other` does not exist"),
        ({"operations": operations(), "map": '{"0": ["variables.file.0"]}'}, True, "`variables.file.0` does not exist"),
        (
            {"operations": operations(variables={"file": "x"}), "map": '{"0": ["variables.file"]}'},
            True,
            "must point to a null",
        ),
        ({"operations": operations(), "map": '{"0": ["query"]}'}, True, "must point to a null"),
    ],
)
async def test_malformed_multipart_is_400(client, world, data, files, expected):
    # without a file, the form fields go as multipart parts all the same
    parts = upload() if files else {name: (None, value) for name, value in data.items()}
    response = await post(client, world.tokens["platform"], data if files else {}, parts)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert expected in error["message"] and error["extensions"]["code"] == "BAD_REQUEST"


async def test_a_cross_site_form_post_changes_nothing(client, world):
    """What a hostile page can make a browser send: a multipart form without the Authorization header
    (our only credential). The logout runs anonymously and is refused; the session stays valid."""
    form = {
        "operations": (None, operations("mutation { logout(input: {}) { errors { code } } }", {})),
        "map": (None, "{}"),
    }
    response = await post(client, None, {}, form)
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    me = await post(
        client,
        world.tokens["admin_a"],
        {},
        {"operations": (None, operations("{ me { email } }", {})), "map": (None, "{}")},
    )
    assert me.json()["data"] == {"me": {"email": "admin@a.example"}}


async def test_a_json_body_labelled_multipart_is_400(client, world):
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": "mutation { logout(input: {}) { errors { code } } }"}).encode(),
        headers={
            "Content-Type": "multipart/form-data; boundary=x",
            "Authorization": f"Bearer {world.tokens['admin_a']}",
        },
    )
    assert response.status_code == 400
    me = await post(
        client,
        world.tokens["admin_a"],
        {},
        {"operations": (None, operations("{ me { email } }", {})), "map": (None, "{}")},
    )
    assert me.json()["data"] == {"me": {"email": "admin@a.example"}}


async def test_map_naming_a_form_field_and_a_garbled_body_are_400(client, world):
    data = {"operations": operations(), "map": '{"extra": ["variables.file"]}', "extra": "text"}
    response = await post(client, world.tokens["platform"], data, upload())
    assert response.status_code == 400 and "not in the request" in response.text
    garbled = await client.post(
        "/graphql",
        content=b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
        headers={
            "Content-Type": "multipart/form-data; boundary=x",
            "Authorization": f"Bearer {world.tokens['platform']}",
        },
    )
    assert garbled.status_code == 400, garbled.text


async def test_multipart_over_get_is_not_a_thing(client, world):
    response = await client.get(
        "/graphql",
        params={"query": DRY_RUN, "variables": json.dumps({"file": None})},
        headers={"Authorization": f"Bearer {world.tokens['platform']}"},
    )
    assert response.status_code == 405  # a mutation over GET; a GET has no body to carry a file anyway


@pytest.fixture
async def small_limit_client(runtime, tmp_path):
    settings = make_settings(tmp_path, max_upload_bytes=4096)
    # the test runtime's database and sealer, with a smaller upload limit
    app = create_app(settings, runtime=runtime)
    original = runtime.settings
    runtime.settings = settings
    try:
        async with app_client(app) as http:
            yield http
    finally:
        runtime.settings = original


async def test_size_limit_is_413(small_limit_client, world):
    data = {"operations": operations(), "map": json.dumps({"0": ["variables.file"]})}
    small = await post(small_limit_client, world.tokens["platform"], data, upload())
    assert small.status_code == 200 and small.json()["data"]["deviceImport"]["deviceCount"] == 1
    big = GOOD_FILE + b"#" * 5000
    response = await post(small_limit_client, world.tokens["platform"], data, upload(big))
    assert response.status_code == 413
    assert "FLEETGRAPH_MAX_UPLOAD_BYTES" in response.json()["errors"][0]["message"]


async def test_size_limit_holds_without_content_length(small_limit_client, world):
    """A chunked body (no Content-Length) is cut off at the limit as it streams."""
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations()}\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.file"]}}\r\n',
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="keys.csv"\r\nContent-Type: '
            "text/csv\r\n\r\n"
        ),
    ]

    async def body():
        for part in parts:
            yield part.encode()
        for _ in range(10):
            yield b"x" * 1000
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await small_limit_client.post(
        "/graphql",
        content=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": f"Bearer {world.tokens['platform']}",
        },
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413


def test_the_setting_is_read_from_the_environment():
    assert Settings.from_env({"FLEETGRAPH_MAX_UPLOAD_BYTES": "1024"}).max_upload_bytes == 1024
    assert Settings().max_upload_bytes == 32 * 1024 * 1024


async def test_read_upload_helper(tmp_path):
    from starlette.datastructures import UploadFile

    def make(content: bytes, name: str) -> UploadFile:
        handle = (tmp_path / f"upload-{len(list(tmp_path.iterdir()))}").open("w+b")
        handle.write(content)
        handle.seek(0)
        return UploadFile(handle, filename=name)

    read = await read_upload(make(b"A1,B2\n", "serials.TXT"), max_bytes=100, suffixes=(".txt", ".csv"))
    assert read.filename == "serials.TXT" and read.content == b"A1,B2\n"
    for upload_file, problem in [
        (make(b"x" * 101, "a.csv"), UploadProblem.TOO_LARGE),
        (make(b"x", "a.xlsx"), UploadProblem.WRONG_TYPE),
        (make(b"", "a.csv"), UploadProblem.EMPTY),
        ("A1,B2", UploadProblem.NOT_A_FILE),
    ]:
        with pytest.raises(UploadError) as caught:
            await read_upload(upload_file, max_bytes=100, suffixes=(".txt", ".csv"))
        assert caught.value.problem == problem
    assert (await read_upload(make(b"", "a.csv"), max_bytes=100, allow_empty=True)).content == b""


async def test_upload_over_a_real_socket(live_server, world):
    """The same request through uvicorn (a real HTTP/1.1 connection), and a body over the limit."""
    data = {"operations": operations(), "map": json.dumps({"0": ["variables.file"]})}
    headers = {"Authorization": f"Bearer {world.tokens['platform']}"}
    async with httpx.AsyncClient(base_url=f"http://{live_server}", timeout=30) as http:
        response = await http.post("/graphql", data=data, files=upload(), headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["deviceImport"]["deviceCount"] == 1
        too_big = await http.post("/graphql", data=data, files=upload(b"x" * (32 * 1024 * 1024 + 1)), headers=headers)
        assert too_big.status_code == 413


async def test_a_string_instead_of_a_file_is_a_payload_error(client, world):
    """`Upload` over a JSON body gets whatever the variable holds: the resolver refuses anything but a file."""
    response = await client.post(
        "/graphql",
        json={"query": DRY_RUN, "variables": {"file": "serial_number,product_type"}},
        headers={"Authorization": f"Bearer {world.tokens['platform']}"},
    )
    result = response.json()["data"]["deviceImport"]
    assert result["deviceCount"] == 0
    assert result["errors"] == [
        {
            "code": "INVALID",
            "field": ["file"],
            "message": "Send the file as a multipart upload (GraphQL multipart request).",
        }
    ]
