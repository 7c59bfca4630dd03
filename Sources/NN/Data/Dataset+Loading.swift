import FlockCore
import FlockIO

// Data sets from the file formats FlockIO reads. Each loader names the file
// and the array in its errors, and accepts the same dtype/shape expectations
// as the in-memory initialiser, so a wrong file fails when it is opened.

extension Dataset {
    /// Features and labels from two arrays of one `.npz` archive.
    ///
    /// ```swift
    /// let train = try Dataset(npz: "Examples/Data/digits.npz", features: "x_train", labels: "y_train",
    ///                         featureDType: .float32, labelDType: .int32)
    /// ```
    ///
    /// - Throws: ``FlockError`` when the file cannot be read, lacks an array,
    ///   or an array has the wrong dtype or shape.
    public init(
        npz path: String, features: String, labels: String,
        featureDType: DType? = nil, labelDType: DType? = nil, exampleShape: [Int]? = nil
    ) throws {
        let arrays = try loadNPZ(path)
        func array(_ name: String) throws -> Tensor {
            guard let t = arrays[name] else {
                throw FlockError("Dataset: \(path) has no array '\(name)' (it has \(arrays.keys.sorted().joined(separator: ", ")))")
            }
            return t
        }
        try self.init(
            checking: path, features: array(features), labels: array(labels),
            featureDType: featureDType, labelDType: labelDType, exampleShape: exampleShape)
    }

    /// Features and labels from two `.npy` files, or only rows `rows` of them
    /// (reading only those bytes: each process can read just its share).
    ///
    /// ```swift
    /// let n = try npyInfo("x.npy").shape[0]
    /// let mine = try Dataset(npyFeatures: "x.npy", labels: "y.npy",
    ///                        rows: Dataset.shardRows(n, index: Distributed.processIndex, count: Distributed.processCount))
    /// ```
    public init(
        npyFeatures features: String, labels: String, rows: Range<Int>? = nil,
        featureDType: DType? = nil, labelDType: DType? = nil, exampleShape: [Int]? = nil
    ) throws {
        func load(_ path: String) throws -> Tensor { try rows.map { try loadNPY(path, rows: $0) } ?? loadNPY(path) }
        try self.init(
            checking: features, features: load(features), labels: load(labels),
            featureDType: featureDType, labelDType: labelDType, exampleShape: exampleShape)
    }

    /// Images and labels from a pair of IDX files (the MNIST format, gzip or not).
    ///
    /// Integer pixels are scaled to float32 in [0, 1] when `scalePixels` is
    /// true (dividing by 255); labels become int32.
    ///
    /// ```swift
    /// let mnist = try Dataset(idxImages: "train-images-idx3-ubyte.gz", labels: "train-labels-idx1-ubyte.gz")
    /// // features float32 [60000, 28, 28], labels int32 [60000]
    /// ```
    public init(idxImages images: String, labels: String, scalePixels: Bool = true, exampleShape: [Int]? = nil) throws {
        var x = try loadIDX(images)
        if scalePixels && x.dtype == .int32 { x = Tensor(concrete: scaledPixels(try x.concreteArray(for: "Dataset"))) }
        try self.init(
            checking: images, features: x, labels: loadIDX(labels), featureDType: nil, labelDType: .int32,
            exampleShape: exampleShape)
    }

    /// Features and labels from the columns of a numeric CSV file.
    ///
    /// ```swift
    /// // sepal_length,sepal_width,petal_length,petal_width,species
    /// let iris = try Dataset(csv: "iris.csv", labelColumn: "species")
    /// ```
    ///
    /// - Parameters:
    ///   - path: The file (see ``loadCSV(_:delimiter:header:dtype:)``).
    ///   - labelColumn: The header name of the label column; the other columns are the features.
    ///   - delimiter: The field separator.
    ///   - labelDType: The labels' dtype: `.int32` (class indices) or `.float32` (regression targets).
    public init(csv path: String, labelColumn: String, delimiter: Character = ",", labelDType: DType = .int32) throws {
        let table = try loadCSV(path, delimiter: delimiter, header: true, dtype: .float64)
        guard let names = table.columnNames, let j = names.firstIndex(of: labelColumn) else {
            throw FlockError("Dataset: \(path) has no column '\(labelColumn)' (columns: \(table.columnNames ?? []))")
        }
        try self.init(csv: path, table: table, labelIndex: j, labelDType: labelDType)
    }

    /// Features and labels from a CSV file whose label is column `labelIndex` (0-based), header row optional.
    public init(csv path: String, labelIndex: Int, delimiter: Character = ",", header: Bool? = nil, labelDType: DType = .int32) throws {
        let table = try loadCSV(path, delimiter: delimiter, header: header, dtype: .float64)
        try self.init(csv: path, table: table, labelIndex: labelIndex, labelDType: labelDType)
    }

    private init(csv path: String, table: CSVTable, labelIndex j: Int, labelDType: DType) throws {
        let values = try table.values.concreteArray(for: "Dataset")
        let (rows, columns) = (values.shape[0], values.shape[1])
        guard (0..<columns).contains(j), columns >= 2 else {
            throw FlockError("Dataset: \(path): label column \(j) is not one of the \(columns) columns, or no feature column is left")
        }
        guard labelDType == .int32 || labelDType == .float32 else {
            throw FlockError("Dataset: \(path): labelDType must be int32 or float32, got \(labelDType)")
        }
        let v = values.toArray(Double.self)
        var x: [Float] = []
        x.reserveCapacity(rows * (columns - 1))
        var y: [Double] = []
        for r in 0..<rows {
            for c in 0..<columns where c != j { x.append(Float(v[r * columns + c])) }
            let label = v[r * columns + j]
            if labelDType == .int32 && (label.rounded() != label || abs(label) > Double(Int32.max)) {
                throw FlockError("Dataset: \(path): row \(r + 1) has label \(label), not an int32 class index")
            }
            y.append(label)
        }
        let labels = labelDType == .int32
            ? Tensor(concrete: DenseArray(y.map { Int32($0) }, shape: [rows]))
            : Tensor(concrete: DenseArray(y.map { Float($0) }, shape: [rows]))
        try self.init(features: Tensor(concrete: DenseArray(x, shape: [rows, columns - 1])), labels: labels)
    }

    /// The in-memory initialiser with the file named in its errors.
    private init(
        checking path: String, features: Tensor, labels: Tensor, featureDType: DType?, labelDType: DType?, exampleShape: [Int]?
    ) throws {
        do {
            try self.init(
                features: features, labels: labels, featureDType: featureDType, labelDType: labelDType,
                exampleShape: exampleShape)
        } catch let error as FlockError {
            throw FlockError(error.message.replacingFirst("Dataset: ", with: "Dataset: \(path): "))
        }
    }
}

/// Integer pixels 0...255 as float32 in [0, 1].
private func scaledPixels(_ a: DenseArray) -> DenseArray {
    DenseArray(a.toArray(Int32.self).map { Float($0) / 255 }, shape: a.shape)
}

extension String {
    fileprivate func replacingFirst(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
