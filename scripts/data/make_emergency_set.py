#!/usr/bin/env python3
"""Write ``scripts/data/emergency_set.csv``: the labelled set for the possible_emergency cue.

Columns: ``text``, ``category`` (one of edge.stages.emergency.Category, two joined
by ``|`` where a line describes both, or ``none``)
and ``split`` (``tune`` or ``heldout``). Every line was written by hand, as callers
to a clinic say things: older callers, non-native phrasings, third parties, and
hard negatives (negated, past, reported, hypothetical, questions, idioms, clinic
talk). Two variants are derived: an ASR-like form (lower case, no punctuation)
of every line with a ``*`` mark, and a few everyday templates (who x what).

The split is fixed by a hash of the hand-written line (about 35 % held out), so
adding lines never moves old ones, and a line's ASR-like form, or a template's
lines, stay in one split (no near-twin on the other side). Rule: tune the rules
on ``tune`` only; never look at the held-out errors while tuning
(scripts/eval_emergency.py prints tune errors only).

    python scripts/data/make_emergency_set.py
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

OUT = Path(__file__).with_name("emergency_set.csv")
HELDOUT_SHARE = 35  # percent

# category -> lines; a leading "*" also adds the line's ASR-like form
POSITIVE: dict[str, list[str]] = {
    "breathing": [
        "*I can't breathe.",
        "*I can't get my breath.",
        "*I can't catch my breath, even sitting still.",
        "*My husband isn't breathing.",
        "*He's gone blue.",
        "*She's turning blue around the lips.",
        "Please, my baby is not breathing!",
        "I'm struggling to breathe and my inhaler isn't helping.",
        "*I'm really short of breath tonight.",
        "*My dad is gasping for air.",
        "He's breathing really funny, like rattling.",
        "*She stopped breathing for a moment and now it's very shallow.",
        "My throat is closing up after that bee sting.",
        "*His lips are blue and he's making a wheezing noise.",
        "It's very hard to breathe, I feel like I'm suffocating.",
        "*I have difficulty breathing since an hour.",
        "Breathing is very difficult for me now, please help.",
        "*My mother can barely breathe.",
        "I cannot breathe properly, doctor.",
        "*he's choking on something and he can't talk",
        "i cant breathe",
        "i can't breath",
        "my son is having an asthma attack and the pump is not working",
        "*I'm so breathless I can't finish a sentence.",
        "Her tongue is swelling up and she's wheezing.",
        "*I think he's stopped breathing.",
        "I don't think she's breathing!",
        "*I'm not sure if he's still breathing.",
        "My wife is fighting for breath.",
        "*The baby's gone a bit blue.",
        "I've got no air going into my lungs.",
        "Yes, yes, he's not breathing, please.",
        "No, he is not breathing at all!",
        "Help, my friend can't breathe.",
        "*Me cannot breathe good, please send someone.",
        "*My grandfather, he is breathing very strange, very slow.",
        "*I feel like I'm drowning, I can't get any air.",
    ],
    "chest_pain": [
        "*My chest is killing me.",
        "*I've got this crushing pain in my chest.",
        "*I think I'm having a heart attack.",
        "It feels like an elephant is sitting on my chest.",
        "*The pain is going down my left arm and into my jaw.",
        "*My husband has chest pains and he's sweating.",
        "*There's a tight pressure across my chest.",
        "*I have chest pain since this morning and it's getting worse.",
        "My chest feels heavy and I feel sick.",
        "*Is this a heart attack? My chest hurts so much.",
        "My dad is clutching his chest and says it hurts.",
        "*I have a pain in my chest, very strong.",
        "Sorry to bother you but my chest has been hurting all morning.",
        "*My heart hurts, it's like somebody is squeezing it.",
        "*She's complaining of chest pain and her arm is numb.",
        "*The chest pain came back, worse than before.",
        "*my chest feels really tight and it's spreading to my back",
        "i think my husband is having a heart attack",
        "*My chest is on fire and I'm dizzy.",
        "Oh God, the pain in my chest.",
        "*He says his chest is really sore and he can't sit up.",
        "I got chest pains, bad ones.",
        "*My mum's got a heaviness in her chest.",
        "Pain shooting down my arm and my chest is tight.",
        "i have tightness in my chest since i woke up",
        "*It's like my chest is being crushed.",
        "He's having a heart attack, I know the signs, he's grey.",
    ],
    "stroke": [
        "*I think my wife is having a stroke.",
        "*His face is drooping on one side.",
        "*Her speech is slurred all of a sudden.",
        "*He can't move his right arm.",
        "*I suddenly can't feel the left side of my body.",
        "*My mum's mouth has dropped on one side and she's talking funny.",
        "*She's slurring her words and she hasn't been drinking.",
        "My left side has gone numb.",
        "*I think he's had a stroke, he can't lift his arm.",
        "*My dad is talking gibberish and his face looks lopsided.",
        "*Her words are all jumbled and she seems confused.",
        "I got sudden numbness in my face and arm.",
        "*He can't get his words out.",
        "*One side of her face has fallen.",
        "*Half his face isn't moving, one side of his face is droopy.",
        "I have the worst headache of my life, it came on all at once.",
        "*My husband suddenly can't speak.",
        "*she cant move her left leg and her smile is crooked",
        "My arm went completely dead out of nowhere.",
        "*Is he having a stroke? His face is all droopy.",
        "*I woke up and my right side is weak.",
        "*Could this be a mini stroke? My hand went numb and my speech went funny.",
        "My father his face is drop one side, he speak strange.",
        "*his speech is all slurry",
        "She keeps dropping things and can't grip with her right hand.",
        "*He's got weakness down one side.",
    ],
    "bleeding": [
        "*He's bleeding really badly from his leg.",
        "*It won't stop bleeding.",
        "*There's blood everywhere.",
        "*I cut my hand and I can't stop the bleeding.",
        "*She's losing a lot of blood.",
        "*He's coughing up blood.",
        "*I'm vomiting blood.",
        "*The cut is pouring blood.",
        "*My daughter fell and she's bleeding from her head.",
        "I'm pregnant and I'm bleeding heavily.",
        "*The bandage is soaked through with blood.",
        "*He's bleeding a lot and he's very pale.",
        "*The blood is spurting out.",
        "*My nose has been bleeding for an hour and it won't stop.",
        "*so much blood i don't know what to do",
        "*I think she's haemorrhaging.",
        "He's on warfarin and he's bleeding everywhere.",
        "*Blood keeps coming, I've used three towels.",
        "*the bleeding won't stop",
        "She bled through the dressing twice already.",
        "*Since the operation the wound is bleeding a lot, a lot.",
        "My son is throwing up blood.",
        "*There's a pool of blood on the floor.",
    ],
    "overdose": [
        "*I took all my pills.",
        "*My son has taken an overdose.",
        "*She's swallowed a whole bottle of paracetamol.",
        "*I think he's overdosed.",
        "*My toddler got into my pills.",
        "*My daughter drank some bleach.",
        "*I took too many of my sleeping tablets.",
        "*He took a handful of his heart tablets.",
        "*I accidentally took double my insulin.",
        "*My little boy swallowed a button battery.",
        "*I think we're being poisoned by the boiler, carbon monoxide.",
        "*My husband's taken all his painkillers at once.",
        "*She's OD'd.",
        "*I took a whole box of tablets an hour ago.",
        "*He's eaten rat poison.",
        "*my mum took her pills twice this morning by mistake",
        "*I swallowed the rest of the tablets.",
        "My friend took loads of her antidepressants.",
        "*The baby ate a dishwasher tablet.",
        "I think she's poisoned herself.",
        "*He's taken too much insulin and he's sweaty and confused.",
        "I have took all the tablets in the box.",
    ],
    "self_harm": [
        "*I don't want to be here anymore.",
        "*I'm going to end it.",
        "*I want to kill myself.",
        "*I've been thinking about ending my life.",
        "*Everyone would be better off without me.",
        "*I want to die.",
        "*I've been cutting myself again.",
        "*I'm thinking of hurting myself.",
        "*My son says he wants to kill himself.",
        "*There's no point in living.",
        "*I can't go on like this.",
        "*I've got nothing left to live for.",
        "*I've been having suicidal thoughts.",
        "*I'm going to end it all tonight.",
        "*I wish I was dead.",
        "*I don't want to wake up tomorrow.",
        "*My daughter has been self-harming.",
        "*I've got the pills ready and I'm going to take my own life.",
        "*i just want to die",
        "*I feel suicidal.",
        "He keeps saying he's going to hang himself.",
        "*I don't want to live anymore.",
        "*I'm planning to end things.",
        "*I have the urge to hurt myself.",
    ],
    "unresponsive": [
        "*She won't wake up.",
        "*My husband has collapsed.",
        "*He's unconscious.",
        "*My dad fainted and he isn't responding.",
        "*She's having a seizure.",
        "*He's fitting on the floor.",
        "*I can't wake him up.",
        "*My mum passed out in the bathroom.",
        "*He's not moving.",
        "*She just collapsed in the kitchen.",
        "*He blacked out and hit his head.",
        "*My son is having a fit and his eyes rolled back.",
        "*She's unresponsive.",
        "*My wife keeled over.",
        "*He's gone all floppy.",
        "*I can't find a pulse.",
        "*I think she's dead, she's not moving.",
        "*My brother is shaking all over and won't respond.",
        "*she's out cold",
        "*The baby's convulsing.",
        "*He lost consciousness a minute ago.",
        "*I came home and found him on the floor not responding.",
        "*my grandmother won't wake up properly",
        "*He had another seizure just now.",
        "My father is falling down and not wake up.",
        "*He's not conscious.",
    ],
}

# lines that describe two emergencies at once: both categories, joined by "|"
MULTI: list[tuple[str, str]] = [
    ("*My chest is tight and I'm having trouble breathing.", "chest_pain|breathing"),
    ("*He collapsed and now he's not breathing.", "unresponsive|breathing"),
    ("*She took a load of pills and she won't wake up.", "overdose|unresponsive"),
    ("*I've cut my wrists and it won't stop bleeding.", "self_harm|bleeding"),
    ("*My face has gone numb on one side and I've got chest pain.", "stroke|chest_pain"),
    ("*He's fitting and his lips have gone blue.", "unresponsive|breathing"),
]

NEGATIVE: list[str] = [
    # negated
    "*I'm not short of breath.",
    "*No chest pain.",
    "*I'm not going to hurt myself.",
    "*I don't have any chest pain.",
    "*There's no bleeding now.",
    "*He's breathing fine.",
    "*She's breathing normally again.",
    "*I've never had a stroke.",
    "*No, he's not unconscious, he's just tired.",
    "*I don't want to hurt myself, I just feel low.",
    "*I haven't taken too many, I counted them.",
    "*He isn't having a seizure, he's just shivering.",
    "*I'm not having a heart attack, it's heartburn I think.",
    "*I'm not suicidal, I just need my prescription.",
    "*Her face isn't drooping, I checked.",
    "*There's no blood at all.",
    "*I don't think it's a stroke, the doctor checked.",
    "*I'm not struggling to breathe.",
    "*He never passed out.",
    "*She didn't collapse, she sat down.",
    "*I'm not thinking of ending my life.",
    "*No trouble breathing at all.",
    "*Without any chest pain or anything.",
    "*I don't have shortness of breath.",
    "*My speech isn't slurred.",
    # past, history, reported
    "*My neighbour had a stroke last year.",
    "*I had a heart attack in 2015.",
    "*My father died of a heart attack when I was a child.",
    "*I had a seizure years ago but not since.",
    "*I used to self-harm as a teenager.",
    "*I've been recovering since my stroke.",
    "*After my heart attack they put me on these tablets.",
    "*She has a history of overdose.",
    "*My husband collapsed back in March and he's fine now.",
    "*I had chest pain last month but it's gone.",
    "*My mother passed away from a stroke.",
    "*He overdosed a few years ago and he's been clean since.",
    "*I'm calling about the follow-up after my heart attack.",
    "*When I was younger I fainted a lot.",
    "*My uncle had a stroke in 2019.",
    "*I was discharged after the overdose last week.",
    "*The last time I couldn't breathe was back in 2010.",
    "*My dad survived a cardiac arrest.",
    "*I had a bleed on the brain a long time ago.",
    # reported and information
    "*The leaflet says call if you can't breathe.",
    "*What are the signs of a stroke?",
    "*How do I know if I'm having a heart attack?",
    "*Does this medication cause chest pain?",
    "*What should I do if he has a seizure?",
    "*Can these tablets cause bleeding?",
    "*What happens if you take too many of these?",
    "*The nurse said to call if the bleeding doesn't stop.",
    "*The website says shortness of breath is a side effect.",
    "*I read that slurred speech can be a sign of a stroke.",
    "*Is there a risk of overdose with this dose?",
    "*How many of these can I take before it's an overdose?",
    "*I'm worried about having another heart attack.",
    "*What are the symptoms of a heart attack in women?",
    "*The doctor told me what to do in case she has a fit.",
    "*I saw a programme on the telly about stroke signs.",
    "*The first aid course taught us what to do if someone collapses.",
    "*Is chest pain a side effect of the new pills?",
    "*What if I can't breathe at night?",
    "*My sister told me about the signs of a heart attack.",
    "*Should I call an ambulance if he faints again?",
    "*The instructions say stop taking it if you feel faint.",
    "*I'm scared I'll have a stroke like my mum.",
    "*What does a seizure look like in a baby?",
    "*How can you tell if someone is unconscious or asleep?",
    # idioms and everyday talk
    "*This bill is killing me.",
    "*I'm dying to know when my results come back.",
    "*The view from the ward was breathtaking.",
    "*My heart sank when I saw the letter.",
    "*I nearly died laughing.",
    "*You nearly gave me a heart attack with that invoice.",
    "*My back is killing me after gardening.",
    "*The queue isn't moving at all.",
    "*The website isn't responding.",
    "*My phone is dead, that's why I didn't call.",
    "*What a stroke of luck that you answered.",
    "*I'd kill for a cup of tea.",
    "*My feet are killing me.",
    "*I'm drowning in paperwork.",
    "*The insurance is bleeding me dry.",
    "*My mum will have a fit if she misses her appointment.",
    "*I'm going to end it with my old pharmacy and move to you.",
    "*I got all choked up when the nurse was so kind.",
    "*The deal collapsed so I'm paying out of pocket.",
    "*I'm sick to death of waiting on hold.",
    "*Let me catch my breath, I ran for the phone.",
    "*I was out of breath from the stairs, sorry.",
    "*It took my breath away how kind she was.",
    "*He swims breaststroke at the leisure centre.",
    "*I passed out the leaflets to the other patients.",
    "*My hands go a bit blue in the cold weather.",
    "*I'm gasping for a cup of tea.",
    "*My heart goes out to the nurses.",
    "*He'll have a heart attack when he sees the price.",
    "*That waiting room is a nightmare.",
    "*I'm scared to death of needles.",
    "*The app keeps crashing and freezing.",
    "*My plans for the weekend fell through.",
    # clinic talk, medication names
    "*I need a refill of my seizure medication.",
    "*Can I book an appointment with the stroke nurse?",
    "*I take clopidogrel since my stroke.",
    "*I'm calling about my blood test results.",
    "*My blood pressure was a bit high this morning.",
    "*I need to renew my prescription for metoprolol.",
    "*Is the chest pain clinic open on Saturday?",
    "*I'd like to change my appointment to Tuesday.",
    "*My insurance card number has changed.",
    "*I need a repeat of my inhaler, the blue one.",
    "*Can you send the bill to my new address?",
    "*I take warfarin, do I need a blood test this week?",
    "*My GTN spray is running out.",
    "*I'd like to register my new baby with the practice.",
    "*I take sertraline and it's helping a lot.",
    "*Could you check whether my naloxone kit has arrived?",
    "*My daughter needs her asthma review.",
    "*The pharmacist said my levothyroxine is ready.",
    "*I'm on atorvastatin and amlodipine.",
    "*Could I get a copy of my discharge letter?",
    "*I was told to ring for my cholesterol results.",
    "*My blood sugar has been stable this week.",
    "*I'd like to see the nurse about my leg ulcer dressing.",
    "*Can you tell me the opening hours on bank holidays?",
    "*I've paid the invoice online already.",
    "*I want to cancel my appointment because I'm feeling better.",
    "*My hearing aid fitting is next Thursday.",
    "*I'm calling to ask about the flu jab.",
    "*Do I need to fast before the blood test?",
    "*I've had a bit of a cough and a runny nose.",
    "*My knee has been sore since I went hiking.",
    "*I get a little nosebleed now and then in winter.",
    "*My gums bleed a bit when I brush.",
    "*I cut my finger chopping onions, it's fine now.",
    "*My foot went numb from sitting cross-legged.",
    "*I had a headache yesterday, it's gone.",
    "*My little one has a temperature but she's eating.",
    "*The physio said my breathing exercises are going well.",
    "*I'm feeling much better, thank you.",
    "*I took my pills this morning like the doctor said.",
    "*I take all my tablets with breakfast.",
    "*Can I take ibuprofen with my other pills?",
    "*I'm ringing for my mother, she needs her repeat prescription.",
    "*The dentist numbed my gum and it still feels funny.",
    "*I need a sick note for work.",
    "*He's been a bit tired and off his food.",
    "*She fell asleep on the sofa after lunch.",
    "*My son has a rash on his arm.",
    "*I've been feeling a bit down lately.",
    "*The tablets make me a bit drowsy.",
    "*My heart rate was seventy two on the monitor.",
    "*Can I speak to someone about my bill?",
    "*I've been waiting forty minutes on hold.",
    "*My husband is asleep, he works nights.",
    "*Could you spell that for me?",
    "*I'll hold, thank you.",
    "*My address is twelve Orchard Road.",
    "*He passed his driving test!",
    "*I want to change my GP.",
    "*She's breathing through her nose better since the spray.",
    "*My blood results came back normal.",
    "*The antibiotics have cleared it up.",
    "*Can you send the form by email?",
    "*I cough a bit in the mornings, it's the smoking.",
    "*It's a bit of a pain in the neck to get here by bus.",
    "*I'm sorry, I'm a bit out of breath, I just walked up the hill.",
    "*The baby is fine, sleeping now.",
]

# The second batch, written after the first held-out run (whose errors were not looked
# at): more phrasings of each kind, for the rules to generalise from.
POSITIVE_2: dict[str, list[str]] = {
    "breathing": [
        "*I'm wheezing and I can hardly get a breath in.",
        "*She's puffing and panting and can't talk in full sentences.",
        "*He's making a horrible gurgling noise when he breathes.",
        "*My airway feels like it's closing.",
        "*I feel like I'm being strangled, I can't get air in.",
        "*He's breathing very fast and his ribs are sucking in.",
        "*The baby's breathing has gone really weird and she's floppy.",
        "*I'm choking, I can't swallow.",
        "*My husband can't breathe lying down, he's gasping.",
        "*I'm out of breath just sitting here and my lips feel numb.",
        "*Every breath is a struggle.",
        "*My asthma's really bad and my inhaler's not working.",
    ],
    "chest_pain": [
        "*I've got a terrible pain in the middle of my chest.",
        "*There's a heavy weight on my chest and I'm sweating buckets.",
        "*It feels like a band tightening around my chest.",
        "*My heart is hurting and I feel faint.",
        "*He says his chest feels like it's being squeezed.",
        "*My left arm is aching and my chest is tight.",
        "*i got pain in chest very bad",
        "*I'm having chest pains and I'm on my own.",
        "*The pain in his chest is spreading to his jaw.",
        "*I think my dad might be having a heart attack.",
        "*It's my heart, it hurts so much.",
        "*Crushing chest pain, it started ten minutes ago.",
    ],
    "stroke": [
        "*His mouth is all crooked and he's dribbling.",
        "*She can't lift her arms above her head suddenly.",
        "*My husband's words are coming out all wrong.",
        "*Her left arm has gone all floppy.",
        "*He's suddenly very confused and his face looks odd.",
        "*I can't feel my right leg and I keep falling over.",
        "*My mother's face has dropped.",
        "*He can't speak properly, it's like he's drunk but he's not.",
        "*I've gone numb down my whole left side.",
        "*She's lost the use of her right hand.",
        "*His smile is lopsided and his arm is weak.",
        "*My vision went and my arm went numb at the same time.",
    ],
    "bleeding": [
        "*He's cut his leg on the glass and it's pumping blood.",
        "*I can't get it to stop bleeding.",
        "*There's blood pouring from her nose and it won't stop.",
        "*My husband's bleeding from his back passage, a lot.",
        "*She's had the baby and now she's bleeding heavily.",
        "*The dressing is full of blood and it's dripping on the floor.",
        "*He's lost loads of blood.",
        "*My stitches burst and it's bleeding everywhere.",
        "*I'm throwing up blood and it looks like coffee grounds.",
        "*The wound's gushing.",
        "*He's bleeding badly, I'm pressing on it.",
    ],
    "overdose": [
        "*She's taken a load of tablets.",
        "*My son has swallowed some of my heart pills.",
        "*I think my friend's taken something, she's really drowsy.",
        "*He drank a bottle of vodka and took his sleeping pills.",
        "*The kids got into the medicine cabinet.",
        "*He's had too much methadone.",
        "*I gave him twice the dose by mistake.",
        "*My dog ate my pills, no wait, my little boy did.",
        "*I've taken more than I should of my painkillers, loads more.",
        "*She's injected too much insulin.",
        "*He swallowed the washing tablets.",
    ],
    "self_harm": [
        "*I've decided to end my life.",
        "*I'm standing on the bridge.",
        "*I can't cope anymore, I want it all to stop.",
        "*Nobody would miss me if I was gone.",
        "*I've written a note for my family.",
        "*I just want to go to sleep and never wake up.",
        "*My partner says he's going to kill himself.",
        "*I'm going to take all my tablets tonight.",
        "*I've been thinking about suicide.",
        "*I keep thinking about hurting myself.",
        "*There's no way out, I'm done.",
        "*I feel like ending it.",
    ],
    "unresponsive": [
        "*He's lying there and he won't answer me.",
        "*She's gone grey and she's not responding to me.",
        "*My wife's slumped in the chair and I can't rouse her.",
        "*He dropped to the floor and he's shaking.",
        "*She's having convulsions.",
        "*I found my dad on the floor and he's not awake.",
        "*The baby's gone limp.",
        "*He keeps passing out.",
        "*She's fainted and she's not coming round.",
        "*My son's had a fit and he's not waking up.",
        "*He's not responsive.",
        "*She fell and she's knocked out.",
    ],
}
NEGATIVE_2: list[str] = [
    "*I'm not choking, I just have a cough.",
    "*He's not bleeding, it's just a graze.",
    "*She isn't unconscious, she's asleep.",
    "*There's no pain in my chest at all today.",
    "*I don't feel like hurting myself, honestly.",
    "*My face isn't numb anymore.",
    "*I've not taken any extra tablets.",
    "*I never said I wanted to die.",
    "*My dad had a heart attack ten years ago.",
    "*Grandma had a few mini strokes back in the day.",
    "*I took an overdose when I was nineteen.",
    "*My brother used to have fits as a child.",
    "*She passed out at her wedding years ago, we laugh about it.",
    "*I was in hospital last year with chest pain.",
    "*After his stroke he needs help with dressing.",
    "*I've had epilepsy all my life, I need my repeat.",
    "*Can a stroke cause memory problems?",
    "*What's the number for the poisons line, just in case?",
    "*Is it normal to feel breathless after the vaccine?",
    "*My leaflet mentions chest pain as a rare side effect.",
    "*Would the doctor call it a heart attack if the troponin is up?",
    "*How long after a seizure can you drive?",
    "*The advert on TV says act fast for stroke.",
    "*Do you do CPR training for parents?",
    "*If I ever feel suicidal who do I call?",
    "*My sister's worried she might have an overdose of vitamin D.",
    "*That film about the heart attack was so sad.",
    "*My heart skipped a beat when the letter came.",
    "*I'm bleeding money on these prescriptions.",
    "*My son's being a real pain, he nearly killed me with worry.",
    "*The pharmacy queue was killing me.",
    "*I could have died of embarrassment.",
    "*He'll kill me if I forget his inhaler.",
    "*I'm fit as a fiddle.",
    "*The shoes don't fit my swollen feet.",
    "*My heart's not in it anymore, I'm changing jobs.",
    "*I'm blue about missing the party.",
    "*My chest x-ray came back clear.",
    "*I'm waiting for my chest clinic appointment.",
    "*I need a new blood pressure monitor.",
    "*Can you refill my nitroglycerin spray?",
    "*My clopidogrel and aspirin are both due.",
    "*I'm taking my epilepsy tablets as usual.",
    "*I've got heartburn after spicy food.",
    "*My chest is a bit wheezy with this cold but I'm fine.",
    "*I pulled a muscle in my chest at the gym.",
    "*She gets a bit breathless on the stairs, it's her age.",
    "*My blood sugar was low this morning so I had some juice.",
    "*He's a bit pale but he's eating fine.",
    "*I fell over in the garden but I'm okay.",
    "*I was so tired I nearly fell asleep on the bus.",
    "*I had a dizzy spell yesterday but it passed.",
    "*My period is heavier than usual this month.",
    "*I need to drop off a urine sample.",
    "*Can my husband collect my prescription?",
    "*My grandson is coming to help me with the form.",
    "*I'm ringing to say thank you to the nurse.",
    "*The bleeding has stopped now, I just want advice about the stitches.",
    "*He was choking earlier but he coughed it up and he's fine.",
]

# Everyday templates: who x what (positives) and the same words past or asked about.
WHO = ("my husband", "my wife", "my mum", "my dad", "my son", "my daughter", "my neighbour")
NOW = {
    "breathing": "{who} can't breathe properly",
    "unresponsive": "{who} has collapsed and won't wake up",
    "stroke": "{who}'s face is drooping on one side",
    "chest_pain": "{who} has really bad chest pain",
    "bleeding": "{who} is bleeding heavily",
    "overdose": "{who} has taken an overdose",
}
THEN = (
    "{who} had a stroke last year",
    "{who} had chest pain a few years ago",
    "{who} collapsed back in 2019",
    "{who} used to have seizures as a child",
)


def asr(text: str) -> str:
    """The line as a caption without punctuation might read."""
    return re.sub(r"[^\w' ]+", "", text.lower().replace("\u2019", "'")).strip()


def split_of(text: str) -> str:
    digest = int(hashlib.sha1(text.encode()).hexdigest(), 16)
    return "heldout" if digest % 100 < HELDOUT_SHARE else "tune"


def rows() -> list[tuple[str, str, str]]:
    """(text, category, split) of every line."""
    out: list[tuple[str, str, str]] = []

    def add(line: str, category: str) -> None:
        text = line.lstrip("*")
        out.append((text, category, split_of(text)))
        if line.startswith("*") and asr(text) != text:
            out.append((asr(text), category, split_of(text)))  # in its original's split

    for category, lines in POSITIVE.items():
        for line in lines:
            add(line, category)
    for category, lines in POSITIVE_2.items():
        for line in lines:
            add(line, category)
    for line in NEGATIVE_2:
        add(line, "none")
    for line, categories in MULTI:
        add(line, categories)
    for line in NEGATIVE:
        add(line, "none")
    for i, who in enumerate(WHO):
        for category, template in NOW.items():
            if (i + len(category)) % 3 == 0:  # a third of the grid is enough variety
                text = template.format(who=who).capitalize() + "."
                out.append((text, category, split_of(template)))  # a template's lines stay together
        for template in THEN:
            if (i + len(template)) % 2 == 0:
                text = template.format(who=who).capitalize() + "."
                out.append((text, "none", split_of(template)))
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
        writer.writerow(["text", "category", "split"])
        writer.writerows(rows())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
