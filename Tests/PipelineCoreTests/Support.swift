import AWSClients
import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import PipelineCore
import Primitives
import TestSupport

/// Real clients on the libcurl transport against the shared moto (signature checking on unless asked).
enum Moto {
    static let transport: CurlTransport = {
        do { return try CurlTransport() } catch { fatalError("libcurl transport did not start: \(error)") }
    }()

    static func clients(auth: Bool = true, clock: any WallClock = SystemClock()) throws -> PipelineClients {
        let moto = try SharedMoto.get(auth: auth)
        let settings = try AWSSettings(environment: Environment(moto.environment))
        let credentials = StaticCredentialProvider(AWSCredentials(accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey))
        return try PipelineClients.make(settings: settings, credentials: credentials, transport: transport, clock: clock)
    }

    static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.lowercased().prefix(12))" }

    /// A new status table with its GSIs.
    static func statusTable(_ clients: PipelineClients) async throws -> String {
        let table = unique("status")
        try await StatusStore.createTable(clients.dynamoDB, table: table)
        return table
    }
}

func fixturePath(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else {
        throw TestFailure("fixture \(name) is missing")
    }
    return url.path
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
