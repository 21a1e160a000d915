package import LambdaRuntime
import PipelineCore
package import AWSClients
import JSONCodec
package import PipelineSettings
import Primitives
package import StarSchema

/// The processing Lambda: the SQS-of-S3 batch helper around `ProcessingObjectHandler`.
package enum ProcessingLambda {
    /// The init phase: settings, AWS clients, the dataset catalog and the star-schema
    /// specification, each loaded once. A bad setting or specification is an init error naming it.
    package static func make(_ context: InitContext) async throws -> SQSS3BatchHandler<ProcessingObjectHandler> {
        let settings: ProcessingSettings
        do {
            settings = try ProcessingSettings(environment: context.environment)
        } catch {
            throw ProcessingError(.invalidSetting, error.description)
        }
        let clients = try await PipelineClients.make(environment: context.environment, transport: context.transport, clock: context.clock)
        let catalog = try await DatasetCatalogLoader.load(
            settings.common.datasets, ssm: clients.ssm, defaultMaxFileSizeBytes: settings.common.maxFileSizeBytes)
        let engine = try await loadSpecification(settings.starSchema, ssm: clients.ssm)
        context.logger.info(
            "processing handler initialised",
            [
                "starSchema": .string(engine.spec.name), "tables": .number(engine.spec.tables.count),
                "extracts": .string("s3://\(settings.extractsBucket)/\(settings.extractsPrefix)"),
                "processedBucket": .string(settings.processedBucket),
            ])
        let processor = ExtractProcessor(
            settings: settings, s3: clients.s3, dynamoDB: clients.dynamoDB, ssm: clients.ssm, catalog: catalog, engine: engine,
            clock: context.clock)
        return SQSS3BatchHandler(
            ProcessingObjectHandler(processor: processor),
            processor: SQSBatchProcessor(safetyMargin: settings.common.deadlineMargin, redelivery: SQSMessageRedelivery(sqs: clients.sqs)))
    }

    /// Reads and compiles the specification from `STAR_SCHEMA_PARAMETER` or `STAR_SCHEMA_FILE`.
    /// - Throws: `ProcessingError` `.invalidSpecification` naming the source and the field at fault.
    package static func loadSpecification(_ source: DocumentSource, ssm: SSMClient) async throws(ProcessingError) -> StarSchemaEngine {
        let bytes: [UInt8]
        switch source {
        case .parameter(let name):
            do {
                bytes = Array(try await ssm.getParameter(name).value.utf8)
            } catch {
                throw ProcessingError(.invalidSpecification, "STAR_SCHEMA_PARAMETER: SSM parameter \(name) could not be read: \(error.code)", aws: error.awsError)
            }
        case .file(let path):
            do {
                bytes = try FileIO.read(path, limit: 4 << 20)
            } catch {
                throw ProcessingError(.invalidSpecification, "STAR_SCHEMA_FILE: \(error)")
            }
        }
        do {
            return try StarSchemaEngine(spec: try StarSchemaSpec.parse(bytes))
        } catch {
            throw ProcessingError(.invalidSpecification, "star-schema specification (\(source)): \(error)")
        }
    }
}
