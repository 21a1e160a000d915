package import AWSCore
package import HTTPTransport
package import Primitives

/// A service client built on one `AWSClient`: it names its service once, and gets from here the
/// initialiser that makes its `AWSClient` from the start-up settings (endpoint from
/// `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL`, region, retry attempts).
package protocol AWSServiceClient: Sendable {
    /// The service this client speaks to.
    static var service: AWSService { get }
    /// - Parameter client: an `AWSClient` for `service`.
    init(client: AWSClient)
}

extension AWSServiceClient {
    /// A client from the start-up settings.
    /// - Throws: `AWSConfigError` when the service's endpoint setting is invalid.
    package init(
        settings: AWSSettings, credentials: any CredentialProvider, transport: any HTTPTransport, quota: RetryQuota,
        clock: any WallClock = SystemClock()
    ) throws(AWSConfigError) {
        self.init(
            client: try AWSClient(
                service: Self.service, settings: settings, credentials: credentials, transport: transport, quota: quota, clock: clock))
    }

    /// Stops a client made for another service at once (a programming error, not an input error).
    static func requireService(of client: AWSClient) {
        precondition(
            client.service.signingName == service.signingName,
            "\(Self.self) needs an AWSClient for \(service.signingName), not \(client.service.signingName)")
    }
}
