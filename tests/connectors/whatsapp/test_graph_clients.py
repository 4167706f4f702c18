"""One pacer per channel, one Graph client per event loop: Rasa's HTTP API calls
`get_output_channel()` on every request, on the server's loop, while the turns send from the
turn thread's loop; no call may build a new client (a leaked pool) or a new pacer (unpaced)."""

from __future__ import annotations

from connectors.whatsapp.channel import WhatsAppInput
from connectors.whatsapp.config import WhatsAppConfig

CREDENTIALS = {
    "app_secret": "app-secret-value",
    "verify_token": "verify-token-value",
    "access_token": "EAAG-access-token",
    "phone_number_id": "106540352242922",
    "api_base_url": "http://127.0.0.1:9",  # never called here
}


class KeyedHashGate:
    """The parts of the gate the channel's construction touches (nothing here sends)."""

    def keyed_hash(self, purpose: str, value: str) -> str:
        return f"h:{purpose}:{len(value)}"

    def housekeeping_interval_seconds(self) -> float:
        return 3600.0

    def housekeeping(self) -> int:
        return 0


def channel() -> WhatsAppInput:
    config = WhatsAppConfig.from_credentials(CREDENTIALS, {})
    return WhatsAppInput(config, KeyedHashGate(), inbox=object())  # type: ignore[arg-type]


async def test_get_output_channel_reuses_the_loops_client_and_the_channels_pacer() -> None:
    whatsapp = channel()
    outputs = [whatsapp.get_output_channel() for _ in range(5)]
    graphs = {id(output._graph) for output in outputs}
    assert len(graphs) == 1 and len(whatsapp.graphs) == 1
    assert outputs[0]._graph._pacer is whatsapp.graphs.pacer
    await whatsapp.graphs.close_this_loop()
    assert outputs[0]._graph._http.is_closed and len(whatsapp.graphs) == 0


async def test_the_turn_loop_has_its_own_client_on_the_same_pacer() -> None:
    whatsapp = channel()
    api_graph = whatsapp.get_output_channel()._graph

    async def on_turn_loop():
        return whatsapp.get_output_channel()._graph

    whatsapp.turns.start()
    try:
        turn_graph = await whatsapp.turns.run_here(on_turn_loop())
        assert await whatsapp.turns.run_here(on_turn_loop()) is turn_graph
        assert turn_graph is not api_graph  # an httpx pool belongs to one loop
        assert turn_graph._pacer is api_graph._pacer is whatsapp.graphs.pacer
        # Shutdown, as the channel's listeners do it: each loop closes its own client.
        await whatsapp.turns.run_here(whatsapp.graphs.close_this_loop())
        assert turn_graph._http.is_closed and not api_graph._http.is_closed
    finally:
        whatsapp.turns.stop()
    await whatsapp.graphs.close_this_loop()
    assert api_graph._http.is_closed and len(whatsapp.graphs) == 0


async def test_a_custom_factory_is_called_once_per_loop() -> None:
    built = []

    def factory():
        graph = whatsapp._default_graph()
        built.append(graph)
        return graph

    config = WhatsAppConfig.from_credentials(CREDENTIALS, {})
    whatsapp = WhatsAppInput(config, KeyedHashGate(), object(), graph_factory=factory)  # type: ignore[arg-type]
    for _ in range(3):
        whatsapp.get_output_channel()
    assert len(built) == 1
    await whatsapp.graphs.close_this_loop()
