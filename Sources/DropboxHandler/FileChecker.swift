import Gzip
package import PipelineSettings
import RecordReaders

/// The dropbox's checks on one file, without reading it whole: dataset, extension, size and
/// compression, then the first records of a range-read sample (or every record, for datasets
/// that ask for full validation of small files). Pure: bytes in, verdict out.
package struct FileChecker: Sendable {
    /// The most decompressed bytes of a gzip sample that are parsed.
    package var maxInflatedSampleBytes: Int
    /// How many failed records are listed in a rejection's details.
    package var maxDetails: Int
    /// How much of a file larger than its sample is read first: enough for the sample records of
    /// most files. The rest of the sample is read only when those bytes cannot decide.
    package var firstReadBytes: Int

    /// What a first, shorter read of a file's start says.
    package enum Verdict: Sendable, Hashable {
        /// The sample records were all within the bytes read: more bytes would not change this.
        case decided(Rejection?)
        /// The bytes ran out before the sample records did: read the whole sample.
        case needsMoreBytes
    }

    package init(maxInflatedSampleBytes: Int = 8 << 20, maxDetails: Int = 10, firstReadBytes: Int = 32 << 10) {
        self.maxInflatedSampleBytes = maxInflatedSampleBytes
        self.maxDetails = maxDetails
        self.firstReadBytes = max(1, firstReadBytes)
    }

    /// The checks that need only the key and the size.
    /// - Parameter name: the key without the incoming prefix.
    package func checkName(_ name: String, size: Int64, dataset: DatasetDefinition) -> Rejection? {
        if !dataset.allowsExtension(of: name) {
            return Rejection(
                .extensionNotAllowed,
                "Files of dataset \(dataset.name) must end in \(dataset.extensions.joined(separator: " or ")); this file's name does not.",
                details: ["file name: \(Self.fileName(name))"])
        }
        if size == 0 {
            return Rejection(.emptyFile, "The file is empty (0 bytes). Please send it again with its data.")
        }
        if size > dataset.maxFileSizeBytes {
            return Rejection(
                .fileTooLarge,
                "The file is \(Self.megabytes(size)) MB, more than the \(Self.megabytes(dataset.maxFileSizeBytes)) MB allowed for dataset \(dataset.name). Please split it into smaller files.",
                details: ["size: \(size) bytes", "limit: \(dataset.maxFileSizeBytes) bytes"])
        }
        return nil
    }

    /// How many bytes to read: all of a file small enough for full validation, else the sample.
    package func readLength(size: Int64, dataset: DatasetDefinition, sampleBytes: Int) -> (bytes: Int, wholeFile: Bool) {
        if dataset.fullValidationMaxBytes > 0, size <= dataset.fullValidationMaxBytes { return (Int(size), true) }
        if size <= Int64(sampleBytes) { return (Int(size), true) }
        return (sampleBytes, false)
    }

    /// Checks the content read from the start of the file.
    /// - Parameters:
    ///   - name: the key without the incoming prefix (for the `.gz` test).
    ///   - sample: the file's first bytes (all of them when `wholeFile`).
    package func checkContent(name: String, sample: [UInt8], wholeFile: Bool, dataset: DatasetDefinition) async -> Rejection? {
        await content(name: name, sample: sample, wholeFile: wholeFile, dataset: dataset).rejection
    }

    /// Checks the content of a first read shorter than the sample (`bytes` of the file's start,
    /// not the whole file): decided when the sample records all lie within those bytes.
    package func verdict(name: String, start bytes: [UInt8], dataset: DatasetDefinition) async -> Verdict {
        let (rejection, decided) = await content(name: name, sample: bytes, wholeFile: false, dataset: dataset)
        return decided ? .decided(rejection) : .needsMoreBytes
    }

    private func content(name: String, sample: [UInt8], wholeFile: Bool, dataset: DatasetDefinition) async -> (
        rejection: Rejection?, decided: Bool
    ) {
        let isGzip = Gzip.hasMagic(sample)
        switch dataset.isGzip(key: name) {
        case true? where !isGzip:
            return (
                Rejection(
                    .compressionMismatch,
                    "The file should be gzip-compressed (dataset \(dataset.name), or a name ending in .gz), but its content is not gzip."),
                true
            )
        case false? where isGzip:
            return (
                Rejection(
                    .compressionMismatch,
                    "The file is gzip-compressed, but dataset \(dataset.name) takes uncompressed files. Send it uncompressed, or without compression in its name."),
                true
            )
        default:
            break
        }
        var text = sample
        var complete = wholeFile
        if isGzip {
            switch inflate(sample, wholeFile: wholeFile) {
            case .success(let (bytes, whole)):
                text = bytes
                complete = whole
            case .failure(let rejection):
                return (rejection, wholeFile)
            }
        }
        return await records(text, isWholeFile: complete, dataset: dataset)
    }

    private func inflate(_ sample: [UInt8], wholeFile: Bool) -> Result<([UInt8], Bool), Rejection> {
        let limits = GzipLimits(maxOutputBytes: Int64(maxInflatedSampleBytes) + (1 << 16))
        do throws(GzipError) {
            let inflater = try GzipInflater(limits: limits)
            inflater.push(sample)
            var out: [UInt8] = []
            while out.count < maxInflatedSampleBytes, let chunk = try inflater.next() { out.append(contentsOf: chunk) }
            if out.count >= maxInflatedSampleBytes { return .success((Array(out.prefix(maxInflatedSampleBytes)), false)) }
            if wholeFile { try inflater.finish() }
            return .success((out, wholeFile))
        } catch {
            switch error.code {
            case .outputLimitExceeded:
                return .failure(Rejection(.unreadableSample, "The file could not be decompressed within limits."))
            case .expansionRatioExceeded:
                // A gzip bomb: reported as one, not as damaged data.
                return .failure(
                    Rejection(
                        .unreadableSample,
                        "The file expands more than \(limits.maxExpansionRatio) times when decompressed, as only a gzip bomb does, so it is not read.",
                        details: [Self.gzipDetail(error)]))
            default: break
            }
            return .failure(
                Rejection(
                    .unreadableSample, "The file's gzip compression is damaged, so its records cannot be read.",
                    details: [Self.gzipDetail(error)]))
        }
    }

    private static func gzipDetail(_ error: GzipError) -> String {
        switch error.code {
        case .truncated: "the compressed data is cut short"
        case .corrupt: "the compressed data is corrupt"
        case .expansionRatioExceeded: error.detail
        default: error.code.rawValue
        }
    }

    /// Reads records until `dataset.sampleRecords` (or all of them when the text is the whole
    /// file) and rejects the file on the first problems found.
    package func checkRecords(_ text: [UInt8], isWholeFile: Bool, dataset: DatasetDefinition) async -> Rejection? {
        await records(text, isWholeFile: isWholeFile, dataset: dataset).rejection
    }

    /// The verdict, and whether it is decided: the whole file was read, or the records that make
    /// the verdict (the sample records, or `maxDetails` failures) all lay within `text`.
    private func records(_ text: [UInt8], isWholeFile: Bool, dataset: DatasetDefinition) async -> (rejection: Rejection?, decided: Bool) {
        var options = ReaderOptions()
        options.inputIsPrefix = !isWholeFile
        var stream = RecordStream(
            format: dataset.format, rules: RecordRules(dataset: dataset), options: options, source: InMemoryByteSource(text))
        let limit = isWholeFile ? Int.max : dataset.sampleRecords
        let formatName = Self.formatName(dataset.format)
        var failures: [(Int, RecordError)] = []
        var read = 0
        var decided = isWholeFile
        do {
            while read < limit, let item = try await stream.next() {
                read += 1
                if let error = item.error {
                    failures.append((item.number, error))
                    if failures.count >= maxDetails { break }
                }
            }
            decided = isWholeFile || read >= limit || failures.count >= maxDetails
        } catch {
            if error.code == .missingColumn {
                return (
                    Rejection(
                        .missingRequiredField, "The CSV header lacks a column that dataset \(dataset.name) requires.",
                        details: [error.detail]),
                    true
                )
            }
            // A shorter read may cut what a longer one would parse.
            if failures.isEmpty {
                return (
                    Rejection(
                        .unreadableSample, "The start of the file cannot be read as \(formatName): \(Self.sentence(error)).",
                        details: [error.description]),
                    isWholeFile
                )
            }
            decided = isWholeFile || failures.count >= maxDetails
        }
        if failures.isEmpty {
            if read == 0, isWholeFile {
                return (Rejection(.unreadableSample, "The file holds no records (\(formatName) expected)."), true)
            }
            return (nil, decided)
        }
        let details = failures.map { "record \($0.0): \($0.1.reason)" }
        let (number, first) = failures[0]
        let rejection: Rejection
        switch first.code {
        case .missingField:
            rejection = Rejection(
                .missingRequiredField,
                "Record \(number) lacks the field '\(first.field ?? "?")', which dataset \(dataset.name) requires.", details: details)
        case .wrongType:
            rejection = Rejection(
                .wrongFieldType, "In record \(number), \(first.reason) (dataset \(dataset.name)).", details: details)
        default:
            rejection = Rejection(
                .unreadableSample, "Record \(number) cannot be read as \(formatName): \(first.reason).", details: details)
        }
        return (rejection, decided)
    }

    static func formatName(_ format: RecordFormat) -> String {
        switch format {
        case .jsonLines: "JSON lines (one JSON object per line)"
        case .csv: "CSV with a header row"
        case .jsonDocument: "a JSON document"
        }
    }

    static func sentence(_ error: RecordFileError) -> String {
        switch error.code {
        case .invalidJSON: "it is not valid JSON"
        case .empty: "it is empty"
        case .truncated: "the JSON document ends too early"
        case .pointerNotFound, .notAnArray: "the records are not where the dataset says (\(error.detail))"
        case .invalidHeader: "the CSV header is not usable (\(error.detail))"
        default: error.detail
        }
    }

    static func fileName(_ key: String) -> String { String(key.split(separator: "/").last ?? Substring(key)) }

    static func megabytes(_ bytes: Int64) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }
}
