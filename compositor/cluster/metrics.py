"""The cluster's metrics, beside the wall's (registered on the same registry):
the broker connection, the hosts online, a layout version that differs, the orders."""

from __future__ import annotations

__all__ = ["ClusterCollector"]

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from compositor.cluster.node import ClusterNode


class ClusterCollector(Collector):
    """Read at each scrape, from the node's view (swapped whole each second: any thread)."""

    def __init__(self, node: ClusterNode) -> None:
        self._node = node

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        view = self._node.hosts()
        if not view:
            return
        yield GaugeMetricFamily(
            "videowall_cluster_broker_connected",
            "1 while this host is connected to the wall's broker",
            value=1.0 if view["broker"]["connected"] else 0.0,
        )
        online = GaugeMetricFamily(
            "videowall_cluster_host_online",
            "Each host of the wall as this one knows it: 1 online, 0 offline or unknown",
            labels=["host"],
        )
        for host in view["hosts"]:
            online.add_metric([host["host"]], 1.0 if host["state"] == "online" else 0.0)
        yield online
        yield GaugeMetricFamily(
            "videowall_cluster_layout_mismatch",
            "Hosts online whose layout version differs from this host's (0: all agree)",
            value=float(len(view["layout_mismatch"])),
        )
        orders = CounterMetricFamily(
            "videowall_cluster_orders",
            "Orders by what became of them here: taken, applied, superseded, refused, garbled",
            labels=["result"],
        )
        for result, count in self._node.counts.items():
            orders.add_metric([result], float(count))
        yield orders
