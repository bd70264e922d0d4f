"""Runs AWS ParallelCluster's pcluster_slurm_config_generator.py as its head node would.

Usage: python3 run-generator.py GENERATOR_DIR [the generator's own arguments...]

The one thing changed is the head node's private IP: the generator asks the EC2 instance
metadata service (169.254.169.254) for it, which does not exist off EC2, so it is fixed
here as ParallelCluster's own unit tests do (they mock _get_head_node_private_ip).
Everything else (imports, argument parsing, YAML loading, Jinja rendering, file writes)
runs unchanged, so the process's wall time is the generator's.
"""
import sys

sys.path.insert(0, sys.argv[1])
import pcluster_slurm_config_generator as generator  # noqa: E402

generator._get_head_node_private_ip = lambda: "10.0.0.10"
sys.argv = [generator.__file__] + sys.argv[2:]
generator.main()
