/// How a patient can be reached, from the plan's `patient` object (contact details: PHI, never logged).
public enum PatientContact {
    /// The channel and address to write to: email when preferred and allowed, else SMS with
    /// consent, else email on file; nil when neither is possible.
    public static func channel(_ patient: JSONValue) -> (name: String, to: String)? {
        let phone = patient["phone"]?.stringValue
        let email = patient["email"]?.stringValue
        let sms = phone != nil && patient["sms_consent"]?.boolValue == true
        let mail = email != nil && patient["email_consent"]?.boolValue != false
        let preferred = patient["preferred_channel"]?.stringValue
        if preferred == "email", mail { return ("email", email!) }
        if sms { return ("sms", phone!) }
        if mail { return ("email", email!) }
        return nil
    }
}
