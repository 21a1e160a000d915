/// The names of everything the local stack creates, as infra/template.yaml declares them (with a
/// fixed account id): three buckets, one queue per function with its dead-letter queue, the status
/// table with its two GSIs, and the SSM parameters of the dataset catalog and the star schema.
package struct StackLayout: Sendable, Hashable {
    package var prefix: String
    package var account: String
    package var region: String

    package init(prefix: String = "pipeline-local", account: String = "123456789012", region: String = "us-east-1") {
        self.prefix = prefix
        self.account = account
        self.region = region
    }

    package var dropboxBucket: String { "\(prefix)-dropbox-\(account)" }
    package var ingestBucket: String { "\(prefix)-ingest-\(account)" }
    package var processedBucket: String { "\(prefix)-processed-\(account)" }
    package var dropboxPrefix: String { "received_files/" }
    package var ingestPrefix: String { "in/" }
    package var processingTriggerPrefix: String { "processed/" }
    package var statusTable: String { "\(prefix)-status" }
    package var fileNameIndex: String { "file_name_index" }
    package var datasetTimeIndex: String { "dataset_time_index" }
    package var datasetsParameter: String { "/pipeline/datasets" }
    package var starSchemaParameter: String { "/pipeline/star-schema" }
    package var watermarkPrefix: String { "/pipeline/watermarks/" }
    package var maxReceiveCount: Int { 3 }

    /// The three functions in pipeline order.
    package var functions: [FunctionKind] { FunctionKind.allCases }

    package func queueName(_ function: FunctionKind) -> String { "\(prefix)-\(function.rawValue)" }
    package func deadLetterQueueName(_ function: FunctionKind) -> String { "\(prefix)-\(function.rawValue)-dlq" }
    package func queueArn(_ name: String) -> String { "arn:aws:sqs:\(region):\(account):\(name)" }
    package func functionArn(_ function: FunctionKind) -> String {
        "arn:aws:lambda:\(region):\(account):function:\(prefix)-\(function.rawValue)"
    }

    /// The bucket and prefix whose new objects feed `function`'s queue.
    package func trigger(_ function: FunctionKind) -> (bucket: String, prefix: String) {
        switch function {
        case .dropbox: (dropboxBucket, dropboxPrefix)
        case .ingest: (ingestBucket, ingestPrefix)
        case .processing: (ingestBucket, processingTriggerPrefix)
        }
    }

    /// The environment the template gives `function` (Globals plus its own variables), without AWS
    /// credentials or endpoints.
    package func functionEnvironment(_ function: FunctionKind, openSearchEndpoint: String, maxFileSizeMB: Int = 30) -> [String: String] {
        var env = [
            "INGEST_STATUS_TABLE": statusTable,
            "INGEST_STATUS_FILE_NAME_GSI": fileNameIndex,
            "MAX_FILE_SIZE_MB": String(maxFileSizeMB),
            "DATASETS_PARAMETER": datasetsParameter,
            "METRICS_NAMESPACE": "SwiftLambdaPipeline",
        ]
        switch function {
        case .dropbox:
            env["DROPBOX_BUCKET_NAME"] = dropboxBucket
            env["DROPBOX_PREFIX"] = dropboxPrefix
            env["INGEST_BUCKET_NAME"] = ingestBucket
        case .ingest:
            env["INGEST_BUCKET_NAME"] = ingestBucket
            env["OPEN_SEARCH_ENDPOINT"] = openSearchEndpoint
            env["OPEN_SEARCH_SERVICE"] = "es"
        case .processing:
            env["INGEST_BUCKET_NAME"] = ingestBucket
            env["PROCESSED_BUCKET_NAME"] = processedBucket
            env["STAR_SCHEMA_PARAMETER"] = starSchemaParameter
            env["WATERMARK_PARAMETER_PREFIX"] = watermarkPrefix
        }
        return env
    }
}

/// The pipeline's three functions.
package enum FunctionKind: String, Sendable, Hashable, CaseIterable {
    case dropbox, ingest, processing

    /// The bootstrap executable's name.
    package var executable: String { "\(rawValue)-lambda" }
    /// SQS messages per invocation (the template's defaults).
    package var batchSize: Int {
        switch self {
        case .dropbox: 10
        case .ingest, .processing: 1
        }
    }
}
