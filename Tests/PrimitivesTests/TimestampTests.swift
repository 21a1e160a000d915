import Primitives
import Testing

@Suite("UTC timestamps without Foundation")
struct TimestampTests {
    @Test("SigV4 date forms")
    func amzDate() {
        let time = Timestamp(secondsSinceEpoch: 1_440_938_160)
        #expect(time.amzDate == "20150830T123600Z")
        #expect(time.dateStamp == "20150830")
        #expect(time.iso8601() == "2015-08-30T12:36:00.000Z")
        #expect(time.iso8601(fractionDigits: 0) == "2015-08-30T12:36:00Z")
    }

    @Test("Dates before the epoch and leap days format correctly")
    func edgeDates() {
        #expect(Timestamp(secondsSinceEpoch: -1).iso8601(fractionDigits: 0) == "1969-12-31T23:59:59Z")
        #expect(Timestamp(isoDate: "2024-02-29")?.iso8601(fractionDigits: 0) == "2024-02-29T00:00:00Z")
        #expect(Timestamp(isoDate: "2000-03-01")!.secondsSinceEpoch == 951_868_800)
        #expect(Timestamp(millisecondsSinceEpoch: -1).iso8601() == "1969-12-31T23:59:59.999Z")
    }

    @Test("Every day from 1900 to 2200 round-trips through its calendar fields")
    func roundTripDays() {
        for day in Int64(-25_567)...Int64(84_000) {
            let (y, m, d) = Timestamp.civil(fromDays: day)
            #expect(Timestamp.days(fromCivil: y, m, d) == day)
        }
    }

    @Test("ISO 8601 parsing accepts offsets, fractions and the basic form")
    func parsing() {
        #expect(Timestamp(iso8601: "2015-08-30T12:36:00Z") == Timestamp(secondsSinceEpoch: 1_440_938_160))
        #expect(Timestamp(iso8601: "20150830T123600Z") == Timestamp(secondsSinceEpoch: 1_440_938_160))
        #expect(Timestamp(iso8601: "2015-08-30T13:36:00+01:00") == Timestamp(secondsSinceEpoch: 1_440_938_160))
        #expect(Timestamp(iso8601: "2015-08-30T12:36:00.250Z")?.millisecondsSinceEpoch == 1_440_938_160_250)
        #expect(Timestamp(iso8601: "2015-08-30 12:36:00Z") == Timestamp(secondsSinceEpoch: 1_440_938_160))
    }

    @Test("Malformed date-times are refused", arguments: ["", "2015-13-01T00:00:00Z", "2015-08-30T12:36:00", "2015-08-30T25:00:00Z", "2015-08-30T12:36:00Zjunk", "yesterday"])
    func malformed(text: String) {
        #expect(Timestamp(iso8601: text) == nil)
    }

    @Test("Date-times past what Int64 nanoseconds hold (found by fuzzing: they trapped) are refused, not a crash", arguments: [
        "5867-02-08T08:00:00Z", "9132-05-01T00:00:00Z", "1012-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:60Z",
        "2262-04-11T23:47:17Z", "1677-09-21T00:12:43Z", "2262-04-11T23:00:00-01:00",
    ])
    func outOfRange(text: String) {
        #expect(Timestamp(iso8601: text) == nil)
        #expect(Timestamp(isoDate: String(text.prefix(10))) == nil || text.hasPrefix("2262-04-11") || text.hasPrefix("1677-09-21"))
    }

    @Test("The representable range's ends still parse")
    func rangeEnds() {
        #expect(Timestamp(iso8601: "2262-04-11T23:47:16Z")?.secondsSinceEpoch == 9_223_372_036)
        #expect(Timestamp(iso8601: "1677-09-21T00:12:44Z")?.secondsSinceEpoch == -9_223_372_036)
        #expect(Timestamp(isoDate: "2262-04-11") != nil && Timestamp(isoDate: "2262-04-12") == nil)
        #expect(Timestamp(isoDate: "1677-09-22") != nil && Timestamp(isoDate: "1677-09-21") == nil)
    }

    @Test("Huge seconds and milliseconds (a header, an SQS attribute) clamp to the range's ends instead of trapping")
    func clamping() {
        #expect(Timestamp(millisecondsSinceEpoch: .max).nanosecondsSinceEpoch == .max)
        #expect(Timestamp(millisecondsSinceEpoch: .min).nanosecondsSinceEpoch == .min)
        #expect(Timestamp(secondsSinceEpoch: 99_999_999_999).nanosecondsSinceEpoch == .max)
        #expect(Timestamp(nanosecondsSinceEpoch: .max - 5).adding(seconds: 1).nanosecondsSinceEpoch == .max)
        #expect(Timestamp(nanosecondsSinceEpoch: 0).adding(milliseconds: .min).nanosecondsSinceEpoch == .min)
        #expect(Timestamp(millisecondsSinceEpoch: .max).iso8601(fractionDigits: 0) == "2262-04-11T23:47:16Z")
    }
}

@Suite("Percent-encoding")
struct PercentEncodingTests {
    @Test("Only unreserved characters pass through")
    func encode() {
        #expect(PercentEncoding.encode("a b+c/d~e_f.g-h") == "a%20b%2Bc%2Fd~e_f.g-h")
        #expect(PercentEncoding.encode("a b/ü", allowing: .unreservedAndSlash) == "a%20b/%C3%BC")
    }

    @Test("Form decoding turns + into a space before percent-decoding")
    func formDecode() {
        #expect(PercentEncoding.decode("in/a+b%2Bc.json", plusIsSpace: true) == "in/a b+c.json")
        #expect(PercentEncoding.decode("caf%C3%A9") == "café")
        #expect(PercentEncoding.decode("bad%zz") == nil)
        #expect(PercentEncoding.decode("bad%C3") == nil)
    }

    @Test("Hex round-trips")
    func hex() {
        #expect(Hex.encode([0x00, 0xAB, 0xFF]) == "00abff")
        #expect(Hex.decode("00abFF") == [0x00, 0xAB, 0xFF])
        #expect(Hex.decode("abc") == nil)
    }
}
