package import AWSCore

/// What a Parameter Store call can fail with. Messages name the parameter, never its value.
package enum SSMError: Error, Sendable, CustomStringConvertible {
    /// `ParameterNotFound`: no parameter by that name (or, for a version, that version).
    case parameterNotFound(name: String)
    /// `ParameterAlreadyExists`: PutParameter without `overwrite` on an existing name.
    case parameterAlreadyExists(name: String)
    /// The request was not sent because it could not be valid (an empty name or value…).
    case invalidRequest(String)
    /// Any other failure: the service's error, the transport, credentials, an unreadable answer.
    case aws(AWSError)

    /// A stable code: `ParameterNotFound`, `ParameterAlreadyExists`, `InvalidRequest`, or the
    /// service's own code, else `Transport`, `Credentials` or `InvalidResponse`.
    package var code: String {
        switch self {
        case .parameterNotFound: "ParameterNotFound"
        case .parameterAlreadyExists: "ParameterAlreadyExists"
        case .invalidRequest: "InvalidRequest"
        case .aws(let error): error.stableCode
        }
    }

    /// The AWS error underneath, if this is one.
    package var awsError: AWSError? {
        if case .aws(let error) = self { return error }
        return nil
    }

    package var description: String {
        switch self {
        case .parameterNotFound(let name): "SSM: parameter \(name) not found"
        case .parameterAlreadyExists(let name): "SSM: parameter \(name) already exists (set overwrite to replace it)"
        case .invalidRequest(let detail): "SSM: invalid request: \(detail)"
        case .aws(let error): "SSM: \(error)"
        }
    }

    /// Types the service error for the parameter `name`; a `secret` (the value being written) is
    /// cut out of any message that echoes it.
    package static func from(_ error: AWSError, name: String?, secret: String? = nil) -> SSMError {
        guard case .service(var service) = error else { return .aws(error) }
        switch service.code {
        case "ParameterNotFound" where name != nil: return .parameterNotFound(name: name!)
        case "ParameterAlreadyExists" where name != nil: return .parameterAlreadyExists(name: name!)
        default:
            if let secret, !secret.isEmpty, service.message.contains(secret) {
                service.message = service.message.replacing(secret, with: "<redacted>")
            }
            // The JSON document may echo the request too; nothing downstream needs it.
            if secret != nil { service.details = nil }
            return .aws(.service(service))
        }
    }
}
