import JSONCodec
package import LambdaRuntime
import PipelineCore
import PipelineSettings
import Primitives

/// A bad setting found at init, reported to Lambda as `Runtime.InvalidSetting` with a message
/// that names the variable or the dataset-document field.
package struct DropboxInitError: LambdaReportableError, CustomStringConvertible {
    package var setting: String?
    package var description: String
    package var lambdaErrorType: String { "Runtime.InvalidSetting" }
}

/// The dropbox Lambda: SQS batches of S3 `ObjectCreated` events, each object checked and moved,
/// answered with `batchItemFailures` for the records to retry.
package struct DropboxLambda: LambdaHandler {
    package let batch: SQSS3BatchHandler<DropboxObjectHandler>

    package init(
        _ handler: DropboxObjectHandler, safetyMargin: Duration, maxConcurrentRecords: Int = 1, redelivery: (any MessageRedelivery)? = nil
    ) {
        batch = SQSS3BatchHandler(
            handler,
            processor: SQSBatchProcessor(safetyMargin: safetyMargin, maxConcurrentRecords: maxConcurrentRecords, redelivery: redelivery))
    }

    package func handle(_ event: [UInt8], context: LambdaContext) async throws -> [UInt8] {
        try await batch.handle(event, context: context)
    }

    /// The init phase: settings, AWS clients and the dataset catalog, built once.
    /// - Throws: `DropboxInitError` naming the setting at fault.
    package static func make(_ context: InitContext) async throws -> DropboxLambda {
        let settings: DropboxSettings
        do {
            settings = try DropboxSettings(SettingsReader(context.environment))
        } catch {
            throw DropboxInitError(setting: error.setting, description: error.description)
        }
        let clients: PipelineClients
        let catalog: DatasetCatalog
        do {
            clients = try await PipelineClients.make(environment: context.environment, transport: context.transport, clock: context.clock)
            catalog = try await DatasetCatalogLoader.load(
                settings.common.datasets, ssm: clients.ssm, defaultMaxFileSizeBytes: settings.common.maxFileSizeBytes)
        } catch {
            throw DropboxInitError(setting: error.setting, description: error.message)
        }
        let store = StatusStore(
            dynamoDB: clients.dynamoDB, table: settings.common.statusTable, fileNameIndex: settings.common.statusFileNameIndex,
            clock: context.clock, timeToLive: settings.statusTimeToLiveDays.map { .seconds(Int64($0) * 86_400) })
        context.logger.info(
            "dropbox handler initialised",
            [
                "dropboxBucket": .string(settings.dropboxBucket), "incomingPrefix": .string(settings.incomingPrefix),
                "ingestBucket": .string(settings.ingestBucket), "datasets": .number(catalog.datasets.count),
                "batchConcurrency": .number(settings.batchConcurrency),
                "datasetsSource": .string(settings.common.datasets.description),
            ])
        let handler = DropboxObjectHandler(settings: settings, catalog: catalog, s3: clients.s3, status: store)
        return DropboxLambda(
            handler, safetyMargin: settings.common.deadlineMargin, maxConcurrentRecords: settings.batchConcurrency,
            redelivery: SQSMessageRedelivery(sqs: clients.sqs))
    }
}
