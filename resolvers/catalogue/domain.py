"""What the catalogue domain brings to the server (see graph.domain)."""

from starlette.routing import Route

from graph.domain import Domain
from resolvers.catalogue.batches import schema as batches
from resolvers.catalogue.batches.schema import MAX_FILE_BYTES
from resolvers.catalogue.claims import schema as claims
from resolvers.catalogue.commands import import_devices
from resolvers.catalogue.demo import seed_demo_devices
from resolvers.catalogue.devices import schema as devices
from resolvers.catalogue.downloads import schema as downloads
from resolvers.catalogue.downloads.serving import serve_download
from resolvers.catalogue.imports import schema as imports
from resolvers.catalogue.key_rotation import DEVICE_KEYS
from resolvers.catalogue.product_types import schema as product_types
from resolvers.catalogue.product_types.rules import ensure_product_types

DOMAIN = Domain(
    name="catalogue",
    queries=(product_types.ProductTypeQuery, devices.DeviceQuery, batches.BatchQuery, downloads.KeyDownloadQuery),
    mutations=(
        claims.ClaimMutation,
        batches.BatchMutation,
        downloads.KeyDownloadMutation,
        imports.DeviceImportMutation,
    ),
    node_resolvers={
        **devices.NODE_RESOLVERS,
        **product_types.NODE_RESOLVERS,
        **batches.NODE_RESOLVERS,
        **downloads.NODE_RESOLVERS,
    },
    long_text_arguments={
        # a batch's serial numbers, each entry possibly comma-separated: as much as its file may hold
        "BatchCreateInput.serialNumbers": MAX_FILE_BYTES,
    },
    routes=(Route("/downloads/{token}", serve_download, methods=["GET"]),),
    startup=(ensure_product_types,),
    sealed=(DEVICE_KEYS,),
    commands={"import-devices": import_devices},
    demo=(seed_demo_devices,),
)
