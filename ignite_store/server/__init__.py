"""Local Apache Ignite server nodes (jars, node config, process control)."""
