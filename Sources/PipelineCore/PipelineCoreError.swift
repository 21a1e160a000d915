package import AWSCore
package import LambdaRuntime
package import Primitives

/// Why a shared pipeline step (loading settings, the status table, a file move) failed, with a
/// stable code. Messages name buckets, keys, tables and settings, never a secret or a file's content.
package struct PipelineCoreError: Error, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// A setting or the dataset document is missing or wrong; `setting` names it.
        case invalidSetting = "InvalidSetting"
        /// The dataset document could not be fetched (SSM unreachable, file unreadable).
        case settingsUnavailable = "SettingsUnavailable"
        /// The AWS clients could not be built (credentials, region, endpoint).
        case awsSetup = "AWSSetup"
        /// A status-table call failed.
        case statusStore = "StatusStoreFailed"
        /// The claim on a file was taken over (it expired and another invocation claimed it):
        /// this invocation must not write its outcome.
        case claimLost = "ClaimLost"
        /// Another live invocation holds the claim on the file. The SQS record fails so that its
        /// message comes back once that claim has ended: acknowledging it would lose the file if the
        /// holder (a copy of the same message) then died.
        case claimHeld = "ClaimHeld"
        /// A move found neither the source nor a verified destination.
        case sourceMissing = "SourceMissing"
        /// The source no longer has the ETag the caller expected (it was overwritten).
        case sourceChanged = "SourceChanged"
        /// The copy call failed.
        case copyFailed = "CopyFailed"
        /// The destination is missing or differs from the source after the copy; the source is kept.
        case verificationFailed = "VerificationFailed"
        /// The copy is verified but the source could not be deleted.
        case deleteFailed = "DeleteFailed"
        /// Another S3 call (HeadObject, PutObject) failed.
        case s3 = "S3Failed"
    }

    package var code: Code
    package var message: String
    /// The setting or document field at fault, for `.invalidSetting`.
    package var setting: String?
    /// The AWS error underneath, when there is one.
    package var aws: AWSError?
    /// When the SQS record is worth another try (`.claimHeld`: when the holder's claim runs out).
    package var redeliverAfter: Duration?

    package init(_ code: Code, _ message: String, setting: String? = nil, aws: AWSError? = nil, redeliverAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.setting = setting
        self.aws = aws
        self.redeliverAfter = redeliverAfter
    }

    /// The error that fails an SQS record whose file another live invocation holds: its message
    /// comes back once that claim has run out (`until`, a second later), or after the visibility
    /// timeout when the claim's end is not known.
    package static func claimHeld(key: String, until: Timestamp?, now: Timestamp) -> PipelineCoreError {
        PipelineCoreError(
            .claimHeld, "another invocation holds the claim on \(key); the message comes back after it",
            redeliverAfter: until.map { .milliseconds(max(0, $0.millisecondsSinceEpoch - now.millisecondsSinceEpoch) + 1000) })
    }

    /// The AWS service's error code underneath (`NoSuchBucket`, `AccessDenied`…), if any.
    package var awsCode: String? { aws?.stableCode }

    package var description: String {
        var text = "\(code.rawValue): \(message)"
        if let aws { text += " (\(aws))" }
        return text
    }
}

extension PipelineCoreError: RedeliveryHint {}
