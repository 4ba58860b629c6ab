"""One Milvus client per address and process, for a server or an embedded Milvus Lite."""

from __future__ import annotations

from pathlib import Path

from pixseek.config import env
from pixseek.errors import PixseekError
from pixseek.store.milvus.uri import MilvusTarget

_clients: dict[str, object] = {}


def milvus_client(target: MilvusTarget):
    """One client per address and process. Lite: start the embedded gRPC server, then connect to its
    http://127.0.0.1:PORT like to any server, so both go through the same client code."""
    if target.address in _clients:
        return _clients[target.address]
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise PixseekError(f"a Milvus store needs pymilvus: pip install 'pixseek[milvus]' ({exc})") from None
    if target.lite:
        try:
            from milvus_lite.server_manager import server_manager_instance
        except ImportError:
            raise PixseekError("milvus-lite:// needs milvus-lite: pip install 'pixseek[milvus]'") from None
        Path(target.address).parent.mkdir(parents=True, exist_ok=True)
        uri = server_manager_instance.start_and_get_uri(target.address)
        if uri is None:
            raise PixseekError(f"cannot start Milvus Lite on {target.address} (is another process using it?)")
    else:
        uri = f"http://{target.address}"
    try:
        client = MilvusClient(uri=uri, token=env("PIXSEEK_MILVUS_TOKEN"), timeout=30)
    except Exception as exc:
        raise PixseekError(f"cannot connect to Milvus at {target.address}: {exc}") from exc
    _clients[target.address] = client
    return client
