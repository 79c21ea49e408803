#!/usr/bin/python3
"""Test tool: OUR OWN numpy re-implementation of pycocotools' COCOeval (iouType='bbox'), written
from its published algorithm (pycocotools is not packaged in Debian and cannot be downloaded here).
It is NOT pycocotools. It cross-checks detection/coco_eval.cpp on random datasets: it writes
tests/fixtures/coco_eval/random_<seed>.json with the ground truth, the detections and the 12
summary numbers, which tests/detection/coco_eval_test.cpp replays.

Run: /usr/bin/python3 scripts/coco_eval_reference.py   (deterministic; rewrites the fixtures)
"""
import json
import os
from collections import defaultdict

import numpy as np

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "coco_eval")

IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
REC_THRS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
MAX_DETS = [1, 10, 100]
AREA_RNG = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
AREA_LBL = ["all", "small", "medium", "large"]


def box_iou(d, g, crowd):
    """maskApi bbIou for one pair (xywh)."""
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    i = w * h
    u = d[2] * d[3] if crowd else d[2] * d[3] + g[2] * g[3] - i
    return i / u


def evaluate(gt, dts):
    img_ids = sorted(set(im["id"] for im in gt["images"]))
    cat_ids = sorted(set(c["id"] for c in gt["categories"]))
    img_set, cat_set = set(img_ids), set(cat_ids)
    # loadRes
    for d in dts:
        assert d["image_id"] in img_set, "Results do not correspond to current coco set"
    res = []
    for n, d in enumerate(dts):
        bb = d["bbox"]
        res.append(dict(d, area=bb[2] * bb[3], id=n + 1, iscrowd=0))
    # _prepare: getAnnIds walks sorted images, loadAnns resolves ids through a dict (last wins)
    by_id = {a["id"]: a for a in gt["annotations"]}
    img_to_anns = defaultdict(list)
    for a in gt["annotations"]:
        img_to_anns[a["image_id"]].append(a)
    gts = [by_id[a["id"]] for i in img_ids for a in img_to_anns[i] if a["category_id"] in cat_set]
    res_by_img = defaultdict(list)
    for d in res:
        res_by_img[d["image_id"]].append(d)
    dtl = [d for i in img_ids for d in res_by_img[i] if d["category_id"] in cat_set]
    G, D = defaultdict(list), defaultdict(list)
    for g in gts:
        G[g["image_id"], g["category_id"]].append(g)
    for d in dtl:
        D[d["image_id"], d["category_id"]].append(d)

    def compute_iou(i, k):
        g, d = G[i, k], D[i, k]
        if len(g) == 0 or len(d) == 0:
            return np.zeros((0, 0))
        order = np.argsort([-x["score"] for x in d], kind="mergesort")
        d = [d[j] for j in order][:MAX_DETS[-1]]
        out = np.zeros((len(d), len(g)))
        for a, dd in enumerate(d):
            for b, gg in enumerate(g):
                out[a, b] = box_iou(dd["bbox"], gg["bbox"], bool(gg["iscrowd"]))
        return out

    ious = {(i, k): compute_iou(i, k) for i in img_ids for k in cat_ids}

    def evaluate_img(i, k, rng, max_det):
        g, d = G[i, k], D[i, k]
        if len(g) == 0 and len(d) == 0:
            return None
        gig = [1 if (x["iscrowd"] or x["area"] < rng[0] or x["area"] > rng[1]) else 0 for x in g]
        gind = np.argsort(gig, kind="mergesort")
        g = [g[j] for j in gind]
        gig = np.array([gig[j] for j in gind])
        dind = np.argsort([-x["score"] for x in d], kind="mergesort")
        d = [d[j] for j in dind[0:max_det]]
        crowd = [int(x["iscrowd"]) for x in g]
        iou = ious[i, k][:, gind] if ious[i, k].size else ious[i, k]
        T = len(IOU_THRS)
        gtm = np.zeros((T, len(g)))
        dtm = np.zeros((T, len(d)))
        dtig = np.zeros((T, len(d)))
        if iou.size:
            for ti, t in enumerate(IOU_THRS):
                for di, dd in enumerate(d):
                    best = min([t, 1 - 1e-10])
                    m = -1
                    for gi in range(len(g)):
                        if gtm[ti, gi] > 0 and not crowd[gi]:
                            continue
                        if m > -1 and gig[m] == 0 and gig[gi] == 1:
                            break
                        if iou[di, gi] < best:
                            continue
                        best = iou[di, gi]
                        m = gi
                    if m == -1:
                        continue
                    dtig[ti, di] = gig[m]
                    dtm[ti, di] = g[m]["id"]
                    gtm[ti, m] = dd["id"]
        outside = np.array([x["area"] < rng[0] or x["area"] > rng[1] for x in d]).reshape((1, len(d)))
        dtig = np.logical_or(dtig, np.logical_and(dtm == 0, np.repeat(outside, T, 0)))
        return dict(scores=[x["score"] for x in d], dtm=dtm, dtig=dtig, gtig=gig)

    ev = [evaluate_img(i, k, rng, MAX_DETS[-1]) for k in cat_ids for rng in AREA_RNG for i in img_ids]

    T, R, K, A, M = len(IOU_THRS), len(REC_THRS), len(cat_ids), len(AREA_RNG), len(MAX_DETS)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    I0 = len(img_ids)
    for k in range(K):
        for a in range(A):
            for m, max_det in enumerate(MAX_DETS):
                E = [e for e in ev[k * A * I0 + a * I0:k * A * I0 + a * I0 + I0] if e is not None]
                if not E:
                    continue
                scores = np.concatenate([np.array(e["scores"][0:max_det], dtype=float) for e in E])
                inds = np.argsort(-scores, kind="mergesort")
                dtm = np.concatenate([e["dtm"][:, 0:max_det] for e in E], axis=1)[:, inds]
                dtig = np.concatenate([e["dtig"][:, 0:max_det] for e in E], axis=1)[:, inds]
                gtig = np.concatenate([e["gtig"] for e in E])
                npig = np.count_nonzero(gtig == 0)
                if npig == 0:
                    continue
                tps = np.logical_and(dtm, np.logical_not(dtig))
                fps = np.logical_and(np.logical_not(dtm), np.logical_not(dtig))
                tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
                fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
                for t in range(T):
                    tp, fp = tp_sum[t], fp_sum[t]
                    nd = len(tp)
                    rc = tp / npig
                    pr = (tp / (fp + tp + np.spacing(1))).tolist()
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    for j in range(nd - 1, 0, -1):
                        if pr[j] > pr[j - 1]:
                            pr[j - 1] = pr[j]
                    q = np.zeros(R)
                    for ri, pi in enumerate(np.searchsorted(rc, REC_THRS, side="left")):
                        if pi >= nd:
                            break
                        q[ri] = pr[pi]
                    precision[t, :, k, a, m] = q

    def summ(ap, iou_thr=None, area="all", max_dets=100):
        aind = [n for n, l in enumerate(AREA_LBL) if l == area]
        mind = [n for n, x in enumerate(MAX_DETS) if x == max_dets]
        s = precision if ap else recall
        if iou_thr is not None:
            s = s[np.where(iou_thr == IOU_THRS)[0]]
        s = s[:, :, :, aind, mind] if ap else s[:, :, aind, mind]
        return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))

    return [summ(1), summ(1, .5), summ(1, .75), summ(1, area="small"), summ(1, area="medium"),
            summ(1, area="large"), summ(0, max_dets=1), summ(0, max_dets=10), summ(0),
            summ(0, area="small"), summ(0, area="medium"), summ(0, area="large")]


def random_case(seed, n_img, n_cat, max_gt, max_dt):
    """Integer-grid boxes (so IoUs hit thresholds exactly and scores tie), crowds, GT ids incl. 0 and
    duplicates, areas that differ from w*h, detections of unknown categories, empty images."""
    rng = np.random.RandomState(seed)
    images = [{"id": int(i), "file_name": "%d.png" % i, "width": 200, "height": 200}
              for i in rng.permutation(np.arange(1, n_img + 1) * 3)]
    cats = [{"id": int(c), "name": "c%d" % c} for c in rng.permutation(np.arange(1, n_cat + 1) * 2)]
    cat_ids = [c["id"] for c in cats]
    anns, dets = [], []
    next_id = 0  # GT id 0 exists: pycocotools then counts a detection matched to it as unmatched
    for im in images:
        for _ in range(rng.randint(0, max_gt + 1)):
            w, h = int(rng.choice([4, 8, 16, 30, 32, 40, 64, 96, 100, 150])), int(rng.choice([4, 8, 16, 32, 33, 64, 96, 120]))
            x, y = int(rng.randint(0, 60)), int(rng.randint(0, 60))
            area = float(w * h) if rng.rand() < 0.8 else float(rng.choice([1024.0, 9216.0, w * h * 0.5]))
            anns.append({"id": next_id, "image_id": im["id"], "category_id": int(rng.choice(cat_ids)),
                         "bbox": [x, y, w, h], "area": area, "iscrowd": int(rng.rand() < 0.1)})
            next_id += 1
        gts_here = [a for a in anns if a["image_id"] == im["id"]]
        for _ in range(rng.randint(0, max_dt + 1)):
            if gts_here and rng.rand() < 0.7:
                g = gts_here[rng.randint(len(gts_here))]
                x, y, w, h = g["bbox"]
                dx, dy, dw, dh = [int(v) for v in rng.randint(-4, 5, size=4)]
                bb = [x + dx, y + dy, max(1, w + dw), max(1, h + dh)]
                cat = g["category_id"] if rng.rand() < 0.9 else int(rng.choice(cat_ids))
            else:
                bb = [int(rng.randint(0, 100)), int(rng.randint(0, 100)), int(rng.randint(1, 120)),
                      int(rng.randint(1, 120))]
                cat = int(rng.choice(cat_ids)) if rng.rand() < 0.95 else 999
            if rng.rand() < 0.3:
                bb = [float(v) + float(rng.rand()) for v in bb]
            score = float(rng.randint(0, 20)) / 20.0 if rng.rand() < 0.5 else float(rng.rand())
            dets.append({"image_id": im["id"], "category_id": cat, "bbox": bb, "score": score})
    if len(anns) > 3:  # a duplicated annotation id: loadAnns resolves both to the later one
        anns[1]["id"] = anns[len(anns) - 2]["id"]
    gt = {"images": images, "annotations": anns, "categories": cats}
    return gt, dets


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    cases = [(1, 6, 2, 4, 6), (2, 10, 3, 6, 14), (3, 4, 1, 3, 120), (4, 25, 4, 5, 10), (5, 8, 3, 12, 30)]
    for seed, n_img, n_cat, max_gt, max_dt in cases:
        gt, dets = random_case(seed, n_img, n_cat, max_gt, max_dt)
        stats = evaluate(gt, dets)
        path = os.path.join(OUT_DIR, "random_%d.json" % seed)
        with open(path, "w") as f:
            json.dump({"note": "expected stats from scripts/coco_eval_reference.py (our numpy re-implementation, "
                               "not pycocotools)", "gt": gt, "dt": dets, "stats": stats}, f)
        print(path, ["%.4f" % s for s in stats])


if __name__ == "__main__":
    main()
