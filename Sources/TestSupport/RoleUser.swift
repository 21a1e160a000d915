package import AWSSigV4
import Foundation
import JSONCodec

/// An IAM user in moto holding exactly one function role's policy from infra/template.yaml
/// (`scripts/iam_user_from_template.py`): a handler run with its key gets the permissions the
/// template gives the function, enforced by moto (actions of every request; bucket and key of S3
/// requests).
package struct RoleUser: Sendable {
    package var accessKeyId: String
    package var secretAccessKey: String
    /// The actions the user holds.
    package var actions: [String]

    /// The user's key, to sign with.
    package var credentials: AWSCredentials { AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey) }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// Creates the user for `role` (a logical id: `IngestFunctionRole`), its buckets named by
    /// logical id, its queues by logical id and ARN (a queue left out is named but not there: the
    /// handlers are mostly called directly, not by an event source), template parameters by name,
    /// `without` some actions (a negative control).
    package static func make(
        in moto: MotoStack, role: String, buckets: [String: String], queues: [String], queueARNs: [String: String] = [:],
        refs: [String: String] = [:], without: [String] = []
    ) async throws -> RoleUser {
        let script = MotoStack.repositoryRoot.appendingPathComponent("scripts/iam_user_from_template.py").path
        var arguments = [
            "python3", script, "--endpoint", moto.endpoint, "--access-key", moto.accessKeyId, "--secret", moto.secretAccessKey,
            "--region", moto.region, "--role", role, "--user", "role-\(UUID().uuidString.lowercased().prefix(12))",
        ]
        for (logical, name) in buckets.sorted(by: { $0.key < $1.key }) { arguments += ["--bucket", "\(logical)=\(name)"] }
        for logical in queues {
            arguments += ["--queue", "\(logical)=\(queueARNs[logical] ?? "arn:aws:sqs:\(moto.region):123456789012:no-queue")"]
        }
        for (name, value) in refs.sorted(by: { $0.key < $1.key }) { arguments += ["--ref", "\(name)=\(value)"] }
        for action in without { arguments += ["--without", action] }
        let run = try await runProcess(arguments)
        guard run.status == 0 else { throw Failure(description: "iam_user_from_template.py failed: \(run.stderrText)") }
        let json = try JSONParser.parse(run.stdout)
        guard let keyId = json["accessKeyId"]?.stringValue, let secret = json["secretAccessKey"]?.stringValue else {
            throw Failure(description: "iam_user_from_template.py printed no key: \(run.stdoutText)")
        }
        return RoleUser(accessKeyId: keyId, secretAccessKey: secret, actions: json["actions"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }
}
