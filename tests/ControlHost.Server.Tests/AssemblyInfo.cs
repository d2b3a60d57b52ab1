// Each class starts its own server with its own ONNX sessions; on a 2-core runner several at once (and the browser)
// starve each other's thread pools, so the classes run one after another.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
