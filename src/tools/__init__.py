"""Developer tools: data generators, benchmarks, sweeps, honesty checks, pre-flight and packing. Not shipped
to the organizers (src.tools.pack leaves this folder out of the zip)."""
