"""What builds, runs locally and tests tracker intake, and is never shipped.

The local stack (`intake local`, `intake demo`), the GitHub stand-in and its sample repository,
the embedded AWS account built from `template.yaml`, the handlers loaded from `functions/`, and the
rigs the tests and benchmarks share (call counter, clocks, the in-process invoker). It needs the
`dev` extras (moto, PyYAML) and a source checkout; the `intake` wheel carries none of it.
"""
