import AWSClients
import AWSCore
import JSONCodec
package import LambdaRuntime
import PipelineCore
import PipelineSettings

/// The ingest Lambda's handler as `LambdaMain` runs it.
package typealias IngestLambdaHandler = SQSS3BatchHandler<IngestObjectHandler<OpenSearchBulkSink>>

package enum IngestSetup {
    /// The init phase: settings, AWS clients, the dataset catalog, the OpenSearch client; once.
    /// - Throws: `SettingsError` or `PipelineCoreError` naming the setting at fault, or an
    ///   `AWSConfigError` for the OpenSearch endpoint.
    package static func make(_ context: InitContext) async throws -> IngestLambdaHandler {
        let settings = try IngestSettings(SettingsReader(context.environment))
        let clients = try await PipelineClients.make(environment: context.environment, transport: context.transport, clock: context.clock)
        let catalog = try await DatasetCatalogLoader.load(
            settings.common.datasets, ssm: clients.ssm, defaultMaxFileSizeBytes: settings.common.maxFileSizeBytes)
        let openSearch = try OpenSearchClient(
            settings: clients.settings, flavor: settings.openSearchService == "aoss" ? .serverless : .managed,
            credentials: clients.s3.client.credentials, transport: context.transport, quota: RetryQuota())
        let indexer = BulkIndexer(client: openSearch, settings: settings.bulk)
        let handler = IngestObjectHandler(
            settings: settings, catalog: catalog, s3: clients.s3,
            status: StatusStore(
                dynamoDB: clients.dynamoDB, table: settings.common.statusTable, fileNameIndex: settings.common.statusFileNameIndex,
                clock: context.clock),
            mover: FileMover(s3: clients.s3, multipartThreshold: settings.multipartCopyThreshold),
            sink: OpenSearchBulkSink(indexer: indexer, clock: context.clock))
        context.logger.debug(
            "ingest handler initialised",
            ["datasets": .number(catalog.datasets.count), "chunkBytes": .number(settings.chunkBytes), "bulkConcurrency": .number(settings.bulkConcurrency)])
        // No new record starts closer to the deadline than the margin the engine keeps.
        return SQSS3BatchHandler(
            handler, processor: SQSBatchProcessor(safetyMargin: settings.common.deadlineMargin, redelivery: SQSMessageRedelivery(sqs: clients.sqs)))
    }
}
