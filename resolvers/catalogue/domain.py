"""What the catalogue domain brings to the server (see graph.domain)."""

from starlette.routing import Route

from graph.domain import Domain
from resolvers.catalogue import batches, downloads, imports, mutations, product_types, queries
from resolvers.catalogue.commands import import_devices
from resolvers.catalogue.demo import seed_demo_devices
from resolvers.catalogue.key_rotation import DEVICE_KEYS

DOMAIN = Domain(
    name="catalogue",
    queries=(queries.CatalogueQuery, batches.BatchQuery, downloads.KeyDownloadQuery),
    mutations=(
        mutations.CatalogueMutation,
        batches.BatchMutation,
        downloads.KeyDownloadMutation,
        imports.DeviceImportMutation,
    ),
    node_resolvers={**queries.NODE_RESOLVERS, **downloads.NODE_RESOLVERS},
    long_text_arguments={
        # a batch's serial numbers, each entry possibly comma-separated: as much as its file may hold
        "BatchCreateInput.serialNumbers": batches.MAX_FILE_BYTES,
    },
    routes=(Route("/downloads/{token}", downloads.serve_download, methods=["GET"]),),
    startup=(product_types.ensure_product_types,),
    sealed=(DEVICE_KEYS,),
    commands={"import-devices": import_devices},
    demo=(seed_demo_devices,),
)
