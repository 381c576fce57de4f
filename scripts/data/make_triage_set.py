#!/usr/bin/env python3
"""Write ``scripts/data/triage_set.csv``: the labelled set of the call triage (issue 17).

Columns: ``text`` (a caller's opening: the first thing they say once the call is
answered), ``label`` (``routine``, ``sensitive`` or ``other``), ``topic`` (one of
``edge.stages.triage.TOPICS``, of that label; ``other`` for other) and ``split``
(``tune`` or ``heldout``).

**routine** calls could be served by automation: appointments, prescription
refills, opening hours, directions, simple billing questions, whether results
are in, forms and records. **sensitive** calls belong to a person: new or
worse symptoms, pain, bad news, bereavement, mental health, complaints,
billing disputes, a caller in distress. The near pairs are on purpose: "are my
results back?" is routine, "the results say it's cancer" is not; "cancel my
appointments" is routine, "cancel my mum's appointments, she passed away" is not;
"how do I pay my bill" is routine, "you charged me twice" is not. **other** is
the call-handling talk around an opening (greetings, names, dates of birth,
confirmations, thanks): it has no topic and decides nothing.

Every line was written by hand, as callers to a clinic open a call: plain,
chatty, older callers, third parties, non-native phrasings; a leading ``*``
also adds the line's ASR-like form (lower case, no punctuation), as a caption
reads.

**The split** is fixed by a hash of the hand-written line (about 35 % held
out), so adding lines never moves old ones, and a line's ASR-like form stays
in its original's split (no near-twin on the other side). Rule: train and tune
on ``tune`` only; ``scripts/train_triage.py`` never reads the held-out lines and
``scripts/eval_triage.py`` prints tune errors only.

    python scripts/data/make_triage_set.py
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

OUT = Path(__file__).with_name("triage_set.csv")
HELDOUT_SHARE = 35  # percent

ROUTINE: dict[str, list[str]] = {
    "appointment": [
        "*Hi, I'd like to book an appointment with Dr Patel please.",
        "*I need to reschedule my appointment on Thursday.",
        "*Can I make an appointment for a blood test?",
        "*Hello, I'm calling to cancel my appointment tomorrow, I can't make it.",
        "*Do you have anything available next week for a check-up?",
        "*I'd like to move my appointment to the afternoon if possible.",
        "*Yes hello, I want to book my son in for his vaccinations.",
        "*Is it possible to see the nurse on Monday morning?",
        "*I'm ringing to confirm my appointment for the 14th.",
        "*Can I book a routine smear test?",
        "*I'd like an appointment for my annual review please.",
        "*Hi there, what's the earliest appointment you have with any doctor?",
        "*I need a follow-up appointment after my physio.",
        "*Good morning, I want to change the time of my husband's appointment.",
        "*Can I get a telephone appointment instead of coming in?",
        "*I am wanting to make booking for the doctor, for my mother.",
        "*Hello, is there a slot for a flu jab this week?",
        "*I missed my appointment yesterday and I'd like to book another one.",
        "*Could you tell me what time my appointment is on Friday?",
        "*I'd like to book a double appointment for me and my daughter.",
        "*Hi, just calling to check my appointment is still on for tomorrow.",
        "*Can I book in for a medication review?",
        "*I want to register a new baby and book the six week check.",
        "*Hello, I need to see someone about a repeat blood pressure check, nothing urgent.",
        "*Yeah hi, can I push my appointment back a week?",
        "*I'd like to book the travel clinic for my holiday jabs.",
    ],
    "refill": [
        "*Hi, I need a repeat prescription for my blood pressure tablets.",
        "*I'm calling to order a refill of my inhaler.",
        "*Can you send my prescription to the pharmacy on High Street?",
        "*Hello, my husband needs his repeat prescription renewing.",
        "*I'd like to request a refill of my metformin please.",
        "*Is my prescription ready to collect yet?",
        "*I'm running low on my thyroid tablets, can I order some more?",
        "*Can I change which pharmacy my prescriptions go to?",
        "*Hi, calling about a refill for my heart medication.",
        "*I need more of my eye drops, the same as last time.",
        "*Has the doctor signed my repeat prescription?",
        "*Yes hello, I want to order my mum's regular medicines.",
        "*I'd like to get my contraceptive pill prescription renewed.",
        "*Can I have a three month supply instead of one?",
        "*Calling to request my usual prescription, I'm going away next week.",
        "*The pharmacy says they haven't got my prescription yet, can you check?",
        "*Hello, please I need refill for my medicine for the diabetes.",
        "*I want to add my new cream to my repeat list.",
        "*Could you renew my statins? I've got a few days left.",
        "*Hi, it's about my prescription, can I pick it up here or at the chemist?",
        "*My repeat for the allergy tablets needs doing please.",
        "*I need a refill of my insulin pens before the weekend.",
        "*Can my daughter collect my prescription for me?",
        "*Hello, I'm phoning to reorder my asthma inhalers.",
    ],
    "hours": [
        "*What time do you open on Saturdays?",
        "*Hi, are you open on the bank holiday?",
        "*What are your opening hours this week?",
        "*When does the surgery close today?",
        "*Is the pharmacy open on Sunday?",
        "*Hello, what time does the walk-in clinic start?",
        "*Are you open late on Wednesdays?",
        "*What time does the phone line open for appointments?",
        "*Hi, I just wanted to know your hours over Christmas.",
        "*Until what time is the blood test clinic open?",
        "*Are you closed at lunchtime?",
        "*Do you open early for working people?",
        "*Hello, please, what hour you open tomorrow?",
        "*When is the nurse clinic on?",
        "*Is the dispensary open during the training afternoon?",
        "*What days is the baby clinic?",
        "*Are you open over Easter weekend?",
        "*What time is reception staffed until?",
        "*Hi, quick question, are you open now?",
        "*When can I call to speak to the practice manager, what hours?",
        "*What time does the x-ray department open in the morning?",
    ],
    "directions": [
        "*How do I get to the clinic from the train station?",
        "*Where can I park when I come for my appointment?",
        "*Hi, is there disabled parking at the surgery?",
        "*Which entrance do I use for the blood clinic?",
        "*What's the address of your new building?",
        "*Is the physiotherapy department on the ground floor?",
        "*Hello, which bus goes to the health centre?",
        "*I'm lost, where exactly is the outpatients entrance?",
        "*Can you tell me the postcode for the satnav?",
        "*Is there a lift to the second floor clinic?",
        "*Where is the x-ray department from the main reception?",
        "*How far is the clinic from the town centre?",
        "*Is the car park free for patients?",
        "*Hello, I am coming first time, how I find you?",
        "*Which building is the eye clinic in?",
        "*Can I get there by tram?",
        "*Where do I go for the children's clinic?",
        "*Hi, is the branch surgery on Mill Lane still open, or did it move?",
        "*Is there somewhere to leave a pushchair?",
        "*Do I go to the main hospital or the health centre for my scan?",
        "*Is it wheelchair accessible?",
    ],
    "billing": [
        "*Hi, how can I pay my bill?",
        "*Can I pay over the phone by card?",
        "*I'd like a receipt for my last visit please.",
        "*Do you accept my insurance?",
        "*How much does a private sick note cost?",
        "*Can I set up a payment plan for my bill?",
        "*Hello, I want to update my insurance details.",
        "*What's the fee for a travel vaccination?",
        "*Where do I send the payment for the invoice I got?",
        "*Can I get an itemised bill for my insurer?",
        "*Is the flu jab free for over sixty-fives?",
        "*Hi, I've got a new insurance card, can I give you the number?",
        "*Do I need to pay the copay at the desk or online?",
        "*How long do I have to pay the invoice?",
        "*Can you tell me my balance please?",
        "*Hello, is there a charge for a medical report?",
        "*Can I pay the bill with a cheque?",
        "*I need a statement of what I've paid this year for my taxes.",
        "*Please, how much cost the blood test if I have no insurance?",
        "*What's your billing department's email?",
        "*Can you resend my invoice, I lost the letter?",
    ],
    "results": [
        "*Are my blood test results back yet?",
        "*Hi, I'm calling to see if my x-ray results are in.",
        "*Has the doctor looked at my urine sample results?",
        "*When will my cholesterol results be ready?",
        "*I had a scan last week, have the results come through?",
        "*Hello, can I get my test results over the phone?",
        "*Are my husband's blood results back from the lab?",
        "*How long do biopsy results usually take?",
        "*I'm just checking whether my swab results have arrived.",
        "*Can you tell me if my results were normal?",
        "*Hi, have you got the results of my ECG?",
        "*Can the results be sent to my app?",
        "*Yes hello, my mother had bloods taken Monday, any news on them yet?",
        "*Do I need to book an appointment to get my results?",
        "*Is there a way to see my results online?",
        "*I was told to ring for my results after ten days.",
        "*Did my thyroid test come back?",
        "*Hello, I calling for result of my blood test, please.",
        "*Have my allergy test results arrived from the hospital?",
        "*Could you check whether my MRI report is back?",
        "*Just ringing to see if the doctor has signed off my results.",
    ],
    "records": [
        "*I need a copy of my medical records.",
        "*Hi, can I get a sick note for work?",
        "*I've moved house, can I update my address?",
        "*How do I register with your practice?",
        "*Can you fill in a form for my insurance company?",
        "*I need a letter confirming my vaccinations for travel.",
        "*Hello, I want to change my phone number on my file.",
        "*Can I get my records transferred to a new surgery?",
        "*I need a fit note extended for another two weeks.",
        "*Could you send a referral letter to the hospital for me, they asked for it?",
        "*Hi, how do I sign up for the online app?",
        "*I need a copy of my vaccination history for school.",
        "*Can I add my wife as my emergency contact?",
        "*Please I need paper for my work, that I was sick last week.",
        "*I'm calling to update my name after getting married.",
        "*Can you email me a copy of my discharge letter?",
        "*I'd like to opt out of sharing my data.",
        "*Hi, I need my NHS number, I've lost it.",
        "*Can you confirm my date of birth is right on the system?",
        "*I need a form signed for my driving licence.",
        "*How do I get a copy of my child's red book details?",
    ],
}

SENSITIVE: dict[str, list[str]] = {
    "symptoms": [
        "*I've had a high temperature for three days and it's not going down.",
        "*My daughter has a rash that's spreading and she's very sleepy.",
        "*I keep getting dizzy spells and I nearly fell today.",
        "*There's blood in my urine and I don't know what it means.",
        "*I found a lump in my breast this morning.",
        "*My son's been vomiting all night and can't keep water down.",
        "*I've had diarrhoea for a week and I feel really weak.",
        "*My vision has gone blurry in one eye since yesterday.",
        "*I've been coughing up some blood.",
        "*My ankle is swollen and red and it's hot to touch.",
        "*I've lost a lot of weight without trying and I'm worried.",
        "*My mum is more confused than usual and keeps falling.",
        "*I'm getting palpitations, my heart keeps racing.",
        "*The wound from my operation is oozing and smells bad.",
        "*I've had a cough for six weeks and now I'm wheezy.",
        "*My baby has a fever and isn't feeding.",
        "*I feel sick all the time since starting the new tablets.",
        "*Hello, my legs are very swollen since two days and I cannot walk good.",
        "*I've got a really bad sore throat and I can't swallow.",
        "*My husband's been really unwell, he's shivering and sweating.",
        "*I keep waking up soaked in sweat at night.",
        "*There's a mole on my back that's changed colour and bleeds.",
        "*I've been having really bad headaches every day this week.",
        "*My dad's diabetes is all over the place, his sugars are really high.",
        "*I think I've got an infection, it burns when I pee and I've got a fever.",
    ],
    "pain": [
        "*I'm in so much pain with my back, I can barely move.",
        "*My stomach is really hurting and it won't stop.",
        "*I've got terrible toothache and my face is swelling.",
        "*The pain in my hip is unbearable, the tablets aren't working.",
        "*My knee is agony since I fell yesterday.",
        "*I've had a stabbing pain in my side all night.",
        "*My daughter is screaming with earache.",
        "*The pain after my operation is getting worse, not better.",
        "*I've got a really bad migraine and I've been sick.",
        "*My shoulder hurts so much I can't sleep.",
        "*I'm calling because my period pain is so bad I can't stand up.",
        "*My husband has awful pain in his lower back going down his leg.",
        "*It really hurts when I breathe in deeply.",
        "*I've got a pain in my tummy that comes and goes and it's really bad.",
        "*Please, I have very much pain in my teeth, I cannot eat.",
        "*My feet are burning and throbbing all the time now.",
        "*My arthritis is so painful this week, I can't cope with it.",
        "*The pain from my kidney stone is back and it's awful.",
        "*I hurt my wrist and it's really painful and swollen.",
        "*My neck is so stiff and sore I can't turn my head.",
        "*I've been in pain for weeks and nobody is doing anything.",
        "*My mum's cancer pain isn't controlled, she's crying with it.",
    ],
    "bad_news": [
        "*The hospital called and said my scan shows a tumour.",
        "*I've just been told I have cancer and I don't know what to do.",
        "*My biopsy came back positive and I need to talk to someone.",
        "*The consultant said the treatment isn't working any more.",
        "*I got a letter saying my results are abnormal and I'm scared.",
        "*They told me my baby has no heartbeat.",
        "*My husband's just been diagnosed with dementia.",
        "*I had a miscarriage yesterday.",
        "*The doctor said my cancer has spread.",
        "*I've been diagnosed with diabetes and I'm really shaken.",
        "*My test came back HIV positive.",
        "*They found something on my mammogram and want me back.",
        "*My dad's been told he's only got months left.",
        "*The scan showed my mum had a stroke and I don't understand what it means.",
        "*I've just found out I have MS and I'm in shock.",
        "*I was told my blood results show leukaemia.",
        "*The midwife said there might be something wrong with the baby.",
        "*My son's been diagnosed with epilepsy and we're all upset.",
        "*I got my results online and it says malignant, what does that mean?",
        "*The specialist says I need a heart operation and I'm frightened.",
        "*My wife's cancer is back.",
    ],
    "bereavement": [
        "*My husband passed away last week and I need to cancel his appointments.",
        "*I'm calling because my mum died on Sunday.",
        "*My father passed away and I need a death certificate.",
        "*My son died and I don't know who to talk to.",
        "*I lost my wife in March and I'm not coping.",
        "*My baby was stillborn and I keep getting letters about checkups.",
        "*My brother passed away in the hospital last night.",
        "*I need to tell you my mother has died, she was your patient.",
        "*My partner took his own life last month.",
        "*I'm ringing about my dad's funeral arrangements and the paperwork.",
        "*My grandmother passed away at home this morning.",
        "*Since my husband died I can't sleep or eat.",
        "*My daughter died in an accident and I still get her reminders.",
        "*Please stop sending letters to my wife, she died in January.",
        "*I'm grieving for my mum and I just need some help.",
        "*My twin sister passed away suddenly.",
        "*Hello, my husband is dead since two weeks, I don't know what I must do.",
        "*My father died yesterday and the hospital said to call you.",
        "*We lost our little boy and I need to speak to the doctor.",
        "*My mum passed and I need to return her medicines.",
        "*I was widowed recently and everything is too much.",
    ],
    "mental_health": [
        "*I've been feeling really depressed and I can't get out of bed.",
        "*I'm having panic attacks every day.",
        "*My anxiety is out of control and I need help.",
        "*I've been having dark thoughts and I'm scared.",
        "*My son is self-harming and I don't know what to do.",
        "*I think I need to talk to someone about my mental health.",
        "*I haven't slept in days and my head is all over the place.",
        "*My daughter has stopped eating and I think she has an eating disorder.",
        "*I've been hearing voices again.",
        "*I feel like I can't go on like this.",
        "*My antidepressants aren't working and I feel worse.",
        "*I'm struggling since I lost my job, I feel so low.",
        "*My husband is drinking heavily and he's not himself.",
        "*I feel numb all the time and I cry for no reason.",
        "*My teenager won't leave his room and says he hates his life.",
        "*I'm having flashbacks from the accident and I can't cope.",
        "*I've relapsed and I'm using again.",
        "*My postnatal depression is getting worse.",
        "*I feel so lonely since I moved here, nobody to talk to.",
        "*My OCD has got really bad and I can't leave the house.",
        "*Please, I feel very bad in my head, always sad, I need help.",
    ],
    "complaint": [
        "*I want to make a complaint about the doctor I saw yesterday.",
        "*The receptionist was really rude to me and I'm not happy.",
        "*This is the fifth time I've called and nobody has rung me back.",
        "*I was given the wrong medication and I want to know how this happened.",
        "*I'm furious, my appointment was cancelled without telling me.",
        "*I've been waiting three months for a referral, this is ridiculous.",
        "*Nobody listened to me and my mum got worse.",
        "*I want to speak to the practice manager about how I was treated.",
        "*Your staff lost my test results and I had to do them again.",
        "*The doctor didn't even examine me, I want to complain.",
        "*I waited two hours in the waiting room and then got sent home.",
        "*I'm really unhappy with the care my father received.",
        "*You sent my letter to the wrong address, that's a breach of my privacy.",
        "*I've been on hold for forty minutes, this is disgraceful.",
        "*The nurse hurt my son when she took his blood and laughed about it.",
        "*I was refused an appointment and told to go to A and E, it's unacceptable.",
        "*Why does nobody ever call back? I'm so fed up.",
        "*I want to file a formal complaint.",
        "*My husband was discharged too early and now he's back in hospital.",
        "*Excuse me but I am very angry, three times you forget my prescription.",
        "*The pharmacy gave my baby the adult dose, I want it investigated.",
    ],
    "billing_dispute": [
        "*You've charged me twice for the same appointment.",
        "*I got a bill for a visit I never had.",
        "*Why have I been sent to a debt collector? I paid that bill.",
        "*My insurance was supposed to cover this and you've billed me.",
        "*This invoice is wrong, I was told the check-up was free.",
        "*I've been charged a missed appointment fee but I cancelled it.",
        "*I can't afford this bill, it's far more than I was quoted.",
        "*I'm disputing the charge on my card from your clinic.",
        "*You're charging me for tests the doctor never did.",
        "*I was overcharged and I want a refund.",
        "*The bill says I owe four hundred pounds, that can't be right.",
        "*I keep getting letters demanding payment for my late husband's bill.",
        "*Your billing department keeps ignoring my emails about the wrong charge.",
        "*Why was I billed for my son's vaccinations, they're meant to be free?",
        "*I paid at the desk and now you're saying I didn't.",
        "*The price went up without anyone telling me and I'm not paying it.",
        "*Please, I get the bill but I never come there, it is mistake.",
        "*I'm being chased for money I don't owe and it's really stressing me out.",
        "*You took money from my account without asking.",
        "*The insurance claim was denied because you put the wrong code.",
    ],
    "distress": [
        "*I'm sorry, I'm really upset, I don't know who else to call.",
        "*Please help me, I'm so scared.",
        "*I just can't cope any more, everything is going wrong.",
        "*I'm at the end of my tether with my mum's care.",
        "*Sorry, I'm crying, give me a second.",
        "*I'm really frightened, something isn't right with my husband.",
        "*I'm so worried about my son, he's not himself at all.",
        "*I'm caring for my dad alone and I'm exhausted, I need help.",
        "*I'm really anxious about my operation and nobody's explained anything.",
        "*I'm in a terrible state, I've been up all night.",
        "*My partner hit me and I don't know where to go.",
        "*I don't feel safe at home.",
        "*I'm so stressed, I think I'm going to have a breakdown.",
        "*Please, somebody has to help me with my mother, I can't do this alone.",
        "*I'm panicking, I've taken my tablets twice by mistake.",
        "*I'm sorry to bother you, I just feel awful and really alone.",
        "*I'm so overwhelmed with everything since the diagnosis.",
        "*I am very afraid, please, I don't know what is happening to me.",
        "*My carer didn't turn up and my wife's been on the floor for an hour.",
        "*I'm desperate, I've tried everyone and nobody will help.",
        "*I'm shaking, I just had a really bad fall.",
    ],
}


# Call-handling talk with no topic: greetings, names, dates of birth, addresses,
# numbers, confirmations, thanks, goodbyes. A call is full of it after (and sometimes
# before) its opening; the head reads it as ``other`` so that it decides nothing.
OTHER: list[str] = [
    "*Hello?",
    "*Hi, good morning.",
    "*Yes hello, can you hear me?",
    "*Hello, is this the surgery?",
    "*Oh hello, sorry, I was on hold for a bit.",
    "*Hi there, how are you today?",
    "*Good afternoon, sorry, one moment.",
    "*It's Margaret Hughes.",
    "*My name is David Okafor.",
    "*Surname is Kowalski, K O W A L S K I.",
    "*Date of birth is the third of March, nineteen forty-eight.",
    "*Fourteenth of June, nineteen seventy-two.",
    "*It's twelve Oak Road, Sandford.",
    "*The postcode is S K four, two B T.",
    "*My number is oh seven seven, double four, one two three.",
    "*The reference is four five six seven.",
    "*It's on the card, let me find it.",
    "*Hang on, let me get a pen.",
    "*Sorry, could you say that again?",
    "*Sorry, you're breaking up a bit.",
    "*Yes, that's right.",
    "*No, that's the old address.",
    "*Yes, that's me.",
    "*Okay, that's fine.",
    "*Right, okay then.",
    "*Mm-hmm, yes.",
    "*Yeah, go on.",
    "*Just a second, I'm putting you on speaker.",
    "*Can you spell that for me?",
    "*That's lovely, thank you.",
    "*Thank you so much for your help.",
    "*No, that's everything, thanks.",
    "*Brilliant, cheers.",
    "*Okay, bye bye.",
    "*You have a good day too.",
    "*Thanks, you've been very helpful.",
    "*I'm calling on behalf of my mother, she's here with me.",
    "*She's given permission for me to speak for her.",
    "*It's my husband's account, he's next to me.",
    "*The email is jones at example dot com.",
    "*Sorry, the dog is barking.",
    "*I'm on my lunch break so I've only got a few minutes.",
    "*Is this the right number?",
    "*Are you still there?",
    "*Sorry, I pressed the wrong option.",
    "*I'll wait, no problem.",
    "*So Tuesday at ten, got it.",
    "*Shall I write that down?",
    "*Yes, I'm registered with you.",
    "*Dr Shah is my doctor.",
    "*Four two, that's the house number.",
    "*Yes, mobile is best.",
    "*Okay, I'll hold.",
    "*Great, I'll see you then.",
    "*That's all I needed.",
]


def asr(text: str) -> str:
    """The line as a caption without punctuation might read."""
    return re.sub(r"[^\w' ]+", "", text.lower().replace("\u2019", "'").replace("-", " ")).strip()


def split_of(text: str) -> str:
    digest = int(hashlib.sha1(text.encode()).hexdigest(), 16)
    return "heldout" if digest % 100 < HELDOUT_SHARE else "tune"


def rows() -> list[tuple[str, str, str, str]]:
    """(text, label, topic, split) of every line."""
    out: list[tuple[str, str, str, str]] = []
    for label, topics in (("routine", ROUTINE), ("sensitive", SENSITIVE)):
        for topic, lines in topics.items():
            for line in lines:
                text = line.lstrip("*")
                out.append((text, label, topic, split_of(text)))
                if line.startswith("*") and asr(text) != text:
                    out.append((asr(text), label, topic, split_of(text)))  # its original's split
    for line in OTHER:
        text = line.lstrip("*")
        out.append((text, "other", "other", split_of(text)))
        if line.startswith("*") and asr(text) != text:
            out.append((asr(text), "other", "other", split_of(text)))
    seen: set[str] = set()
    unique = []
    for row in out:
        if row[0] not in seen:
            seen.add(row[0])
            unique.append(row)
    return unique


def main() -> None:
    with OUT.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label", "topic", "split"])
        writer.writerows(rows())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
