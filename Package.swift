// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Flock",
    products: [
        .library(name: "Flock", targets: ["Flock"]),
        .executable(name: "flock-demo", targets: ["FlockDemo"]),
        .executable(name: "flock-bench", targets: ["FlockBenchmarks"]),
        .executable(name: "flock-data-parallel", targets: ["FlockDataParallel"]),
        .executable(name: "tutorial", targets: ["FlockTutorial"]),
        .executable(name: "train-mlp", targets: ["TrainMLP"]),
        .executable(name: "train-cnn", targets: ["TrainCNN"]),
        .executable(name: "train-lm", targets: ["TrainLM"]),
        .executable(name: "dp-sgd", targets: ["DPSGD"]),
        .executable(name: "collective-faults", targets: ["CollectiveFaults"]),
        .executable(name: "fuzz-parsers", targets: ["FlockFuzz"]),
    ],
    dependencies: [
        // Command-line parsing for the examples (`--help` on every executable).
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation --target Flock` builds the DocC catalog.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // C shims: header-only, no logic (see the headers for why they exist).
        .systemLibrary(
            name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // float32 block kernels compiled for AVX2 with per-function target attributes.
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(name: "FlockCore", dependencies: ["CBLAS", "CKernels"], path: "Sources/Core"),
        .target(name: "FlockIO", dependencies: ["FlockCore", "CZlib"], path: "Sources/IO"),
        .target(name: "FlockCompiler", dependencies: ["FlockCore", "CKernels"], path: "Sources/Compiler"),
        .target(name: "FlockTransforms", dependencies: ["FlockCore", "FlockCompiler"], path: "Sources/Transforms"),
        .target(
            name: "FlockCollectives", dependencies: ["FlockCore", "CMPI", "CKernels"],
            path: "Sources/Collectives"),
        .target(
            name: "FlockSharding",
            dependencies: ["FlockCore", "FlockTransforms", "FlockCollectives"],
            path: "Sources/Sharding"),
        .target(name: "FlockOptim", dependencies: ["FlockCore", "FlockTransforms"], path: "Sources/Optim"),
        .target(
            name: "FlockNN",
            dependencies: ["FlockCore", "FlockIO", "FlockTransforms", "FlockCollectives", "FlockSharding"],
            path: "Sources/NN"),
        .target(
            name: "Flock",
            dependencies: [
                "FlockCore", "FlockIO", "FlockCompiler", "FlockTransforms", "FlockCollectives", "FlockSharding", "FlockNN", "FlockOptim",
            ],
            path: "Sources/Flock"),
        // Fuzzing of the file parsers (fuzz/README.md): a mutation driver, or libFuzzer's entry with -DFLOCK_LIBFUZZER.
        .executableTarget(name: "FlockFuzz", dependencies: ["FlockIO"], path: "fuzz/Sources"),
        .executableTarget(name: "FlockDemo", dependencies: ["Flock"], path: "Examples/Demo"),
        .executableTarget(name: "FlockDataParallel", dependencies: ["Flock"], path: "Examples/DataParallel"),
        .target(
            name: "FlockExampleSupport",
            dependencies: ["Flock", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/Support"),
        .executableTarget(
            name: "TrainMLP",
            dependencies: ["Flock", "FlockExampleSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/TrainMLP"),
        .executableTarget(
            name: "TrainCNN",
            dependencies: ["Flock", "FlockExampleSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/TrainCNN"),
        .executableTarget(
            name: "TrainLM",
            dependencies: ["Flock", "FlockExampleSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/TrainLM", exclude: ["corpus.txt"]),
        .executableTarget(
            name: "DPSGD",
            dependencies: ["Flock", "FlockExampleSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/DPSGD"),
        .executableTarget(
            name: "CollectiveFaults",
            dependencies: ["Flock", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/CollectiveFaults"),
        .executableTarget(
            name: "FlockTutorial",
            dependencies: ["Flock", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/Tutorial"),
        .executableTarget(
            name: "FlockBenchmarks", dependencies: ["Flock", "CMPI"], path: "benchmarks/Sources"),
        // Helpers shared by the test targets.
        .target(
            name: "FlockTestSupport", dependencies: ["FlockCore", "FlockTransforms"], path: "Tests/FlockTestSupport",
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "FlockCoreTests", dependencies: ["FlockCore", "FlockTestSupport"], path: "Tests/FlockCoreTests",
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "FlockIOTests", dependencies: ["FlockIO", "FlockTestSupport"], path: "Tests/FlockIOTests",
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "FlockNNTests", dependencies: ["FlockNN", "FlockOptim", "FlockTestSupport"], path: "Tests/FlockNNTests",
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "FlockOptimTests", dependencies: ["FlockOptim", "FlockNN", "FlockTestSupport"], path: "Tests/FlockOptimTests",
            resources: [.copy("Fixtures")]),
        .testTarget(name: "FlockShardingTests", dependencies: ["FlockSharding", "FlockTestSupport"], path: "Tests/FlockShardingTests"),
        .testTarget(
            name: "FlockCompilerTests", dependencies: ["FlockCompiler", "FlockTransforms", "FlockTestSupport"],
            path: "Tests/FlockCompilerTests"),
        .testTarget(
            name: "FlockTransformsTests", dependencies: ["FlockTransforms", "FlockTestSupport"], path: "Tests/FlockTransformsTests",
            resources: [.copy("Fixtures")]),
        // The bad-input suite across every module (docs/ERRORS.md is generated from it).
        .testTarget(name: "FlockTests", dependencies: ["Flock", "FlockTestSupport"], path: "Tests/FlockTests"),
        // Run as a plain `swift test` (a one-process job) and, by scripts/run-tests,
        // as the built test binary under `./launch -n 2` and `-n 4`.
        .testTarget(
            name: "FlockCollectivesTests", dependencies: ["FlockCollectives", "FlockTransforms", "FlockTestSupport"],
            path: "Tests/FlockCollectivesTests"),
    ],
    swiftLanguageModes: [.v6]
)
