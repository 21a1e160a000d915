package import AWSClients
package import AWSCore
package import HTTPTransport
package import Primitives

/// The AWS clients a handler builds once at init: one credential provider, one retry quota and
/// one transport shared by S3, DynamoDB, SSM and SQS.
package struct PipelineClients: Sendable {
    package var settings: AWSSettings
    package var s3: S3Client
    package var dynamoDB: DynamoDBClient
    package var ssm: SSMClient
    package var sqs: SQSClient

    package init(settings: AWSSettings, s3: S3Client, dynamoDB: DynamoDBClient, ssm: SSMClient, sqs: SQSClient) {
        self.settings = settings
        self.s3 = s3
        self.dynamoDB = dynamoDB
        self.ssm = ssm
        self.sqs = sqs
    }

    /// Clients from the environment (`AWS_REGION`, `AWS_ENDPOINT_URL[_<SERVICE>]`, the credential chain).
    /// - Throws: `PipelineCoreError` `.awsSetup` naming the setting at fault.
    package static func make(
        environment: Environment, transport: any HTTPTransport, clock: any WallClock = SystemClock()
    ) async throws(PipelineCoreError) -> PipelineClients {
        let settings: AWSSettings
        do {
            settings = try AWSSettings(environment: environment)
        } catch {
            throw PipelineCoreError(.awsSetup, error.description, setting: error.setting)
        }
        let credentials: any CredentialProvider
        do {
            credentials = try await CredentialChain.resolve(settings: settings, transport: transport, clock: clock)
        } catch {
            throw PipelineCoreError(.awsSetup, "no usable AWS credentials: \(error)")
        }
        return try make(settings: settings, credentials: credentials, transport: transport, clock: clock)
    }

    /// Clients with the given credentials (tests, benchmarks).
    package static func make(
        settings: AWSSettings, credentials: any CredentialProvider, transport: any HTTPTransport,
        clock: any WallClock = SystemClock()
    ) throws(PipelineCoreError) -> PipelineClients {
        let quota = RetryQuota()
        func client<Client: AWSServiceClient>(_: Client.Type) throws(PipelineCoreError) -> Client {
            do {
                return try Client(settings: settings, credentials: credentials, transport: transport, quota: quota, clock: clock)
            } catch {
                throw PipelineCoreError(.awsSetup, error.description, setting: error.setting)
            }
        }
        return PipelineClients(
            settings: settings, s3: try client(S3Client.self), dynamoDB: try client(DynamoDBClient.self), ssm: try client(SSMClient.self),
            sqs: try client(SQSClient.self))
    }
}
