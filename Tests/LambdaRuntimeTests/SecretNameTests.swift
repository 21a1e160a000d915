import LambdaRuntime
import Primitives
import Testing

@Suite("Secret-looking names")
struct SecretNameTests {
    @Test("names holding a secret part match in any ASCII case, anywhere in the name")
    func asciiNamesMatchCaseInsensitively() {
        for name in [
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "x-amz-security-token", "Authorization", "DB_PASSWORD",
            "passwd", "MyApiKey", "api_key", "PRIVATEKEY", "service.private_key", "Credentials", "X-Amz-Signature",
            "SessionKey",
        ] {
            #expect(Redactor.isSecretName(name), "\(name)")
        }
    }

    @Test("ordinary names do not match, nor do names holding only part of a secret word")
    func ordinaryNamesDoNotMatch() {
        for name in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "bucket", "key", "tok", "secre", "pass", "api", "", "AWS_LAMBDA_FUNCTION_NAME"] {
            #expect(!Redactor.isSecretName(name), "\(name)")
        }
    }

    @Test("non-ASCII names are lowercased as Unicode, so a Kelvin sign still spells a secret")
    func unicodeNamesUseUnicodeLowercasing() {
        #expect(Redactor.isSecretName("TO\u{212A}EN"))  // KELVIN SIGN lowercases to "k"
        #expect(Redactor.isSecretName("Größe_PASSWORD"))
        #expect(!Redactor.isSecretName("Größe"))
    }

    @Test("a redactor built from the environment masks the values of secret-named variables only")
    func environmentRedactorCollectsSecretValues() {
        let redactor = Redactor(
            environment: Environment([
                "DB_PASSWORD": "correct-horse-battery", "AWS_REGION": "eu-west-2-long-value", "MY_TOKEN": "tok-12345678",
            ]))
        let line = String(decoding: redactor.scrub(Array("a correct-horse-battery b tok-12345678 c eu-west-2-long-value".utf8)), as: UTF8.self)
        #expect(line == "a [REDACTED] b [REDACTED] c eu-west-2-long-value")
    }
}
