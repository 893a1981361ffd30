"""Transport and cluster layer: connections, pools, partition maps, tending and executors."""
