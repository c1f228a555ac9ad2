"""The generate page: the form on the left, the live progress of the latest video on the right."""
from __future__ import annotations

import uuid
from pathlib import Path

from nicegui import events, ui

from pages.live import live_video
from pages.session import signed_in_user
from pages.theme import frame
from services import Services, catalog
from services.videos import PROMPT_MAX, SubmitError, VideoRequest, prompt_error

TRIAL_DIR = Path(__file__).resolve().parent.parent / 'assets' / 'trial'
TRIAL_IMAGES = sorted(p.stem for p in TRIAL_DIR.glob('*.jpg'))
IMAGE_CHOICES = {'none': 'None', 'trial': 'Trial image', 'upload': 'Upload'}


def create(services: Services) -> None:
    @ui.page('/generate')
    def generate_page() -> None:
        user = signed_in_user(services)
        if user is None:
            return
        plan = catalog.plan(user.plan)
        # One key per form state: repeated clicks on an unchanged form submit the same video once.
        form = {'key': uuid.uuid4().hex, 'busy': False, 'trial': TRIAL_IMAGES[0], 'upload': None}

        with frame('Generate', user) as page:
            with ui.row().classes('w-full items-start gap-6 flex-wrap lg:flex-nowrap'):
                with ui.card().classes('w-full lg:w-[30rem] shrink-0 gap-4').mark('form'):
                    ui.label('New video').classes('text-xl font-semibold')
                    if not plan.can_generate:
                        with ui.row().classes('w-full bg-amber-50 text-amber-900 rounded p-3 items-center gap-2') \
                                .mark('plan-warning'):
                            ui.icon('lock')
                            ui.label(f'Your {plan.label} plan cannot generate videos. '
                                     'Ask an administrator to upgrade your plan.')
                    prompt = ui.textarea('Prompt', placeholder='A slow pan across a misty forest at sunrise…',
                                         validation=prompt_error) \
                        .props(f'outlined counter maxlength={PROMPT_MAX} autogrow') \
                        .classes('w-full').mark('prompt') \
                        .on('keydown.ctrl.enter', lambda: submit()).on('keydown.meta.enter', lambda: submit())
                    prompt.without_auto_validation()
                    with ui.row().classes('w-full gap-3 no-wrap'):
                        model = ui.select(catalog.MODELS, value=catalog.DEFAULT_MODEL, label='Model') \
                            .props('outlined').classes('grow').mark('model')
                        size = ui.select(_size_options(catalog.DEFAULT_MODEL), value=catalog.DEFAULT_SIZE,
                                         label='Size').props('outlined').classes('grow').mark('size')
                    ui.label('Length').classes('text-sm text-gray-600 -mb-3')
                    seconds = ui.toggle({s: f'{s} s' for s in catalog.SECONDS}, value=catalog.DEFAULT_SECONDS).props('no-caps') \
                        .mark('seconds')
                    ui.label('Reference image (becomes the first frame)').classes('text-sm text-gray-600 -mb-3')
                    image_mode = ui.toggle(IMAGE_CHOICES, value='none').props('no-caps').mark('image-mode')
                    with ui.grid(columns=4).classes('w-full gap-2').bind_visibility_from(image_mode, 'value',
                                                                                        value='trial'):
                        trial_cards = {}
                        for name in TRIAL_IMAGES:
                            trial_cards[name] = ui.image(f'/assets/trial/{name}.jpg') \
                                .classes('trial-thumb rounded border-4').mark(f'trial-{name}') \
                                .tooltip(name.title()) \
                                .on('click', lambda n=name: pick_trial(n))
                    with ui.column().classes('w-full gap-1').bind_visibility_from(image_mode, 'value', value='upload'):
                        ui.upload(on_upload=lambda e: uploaded(e), on_rejected=lambda: rejected(), auto_upload=True,
                                  max_file_size=services.settings.max_upload_bytes,
                                  label='JPEG, PNG or WebP') \
                            .props('accept=".jpg,.jpeg,.png,.webp,image/jpeg,image/png,image/webp" flat bordered') \
                            .classes('w-full').mark('upload')
                        upload_note = ui.label('').classes('text-sm').mark('upload-note')
                    with ui.row().classes('w-full items-center justify-between'):
                        price = ui.label().classes('text-lg font-medium').mark('price')
                        generate = ui.button('Generate', icon='auto_awesome', on_click=lambda: submit()) \
                            .props('size=lg').mark('generate')
                    error = ui.label('').classes('text-negative').mark('form-error')
                    ui.label('Tip: Ctrl+Enter in the prompt generates.').classes('text-xs text-gray-500 -mt-2')
                live = ui.column().classes('grow w-full min-w-0 gap-4').mark('live')
                with live:
                    with ui.column().classes('w-full items-center py-16 text-gray-500 gap-2'):
                        ui.icon('movie_filter', size='4rem', color='grey-5')
                        ui.label('Your video will appear here, with every step as it happens.')

        def changed(*_) -> None:
            form['key'] = uuid.uuid4().hex
            error.set_text('')
            price.set_text(f'Price: {services.videos.price(model.value, size.value, seconds.value):,} credits')
            generate.set_enabled(plan.can_generate and not form['busy'])

        def model_changed(*_) -> None:
            size.set_options(_size_options(model.value),
                             value=size.value if size.value in catalog.sizes_for(model.value) else catalog.DEFAULT_SIZE)
            changed()

        def pick_trial(name: str) -> None:
            form['trial'] = name
            for other, card in trial_cards.items():
                card.classes(replace='trial-thumb rounded border-4 ' +
                             ('border-indigo-500' if other == name else 'border-transparent'))
            changed()

        async def uploaded(event: events.UploadEventArguments) -> None:
            limit = services.settings.max_upload_bytes
            if event.file.size() > limit:  # the browser's limit is only a courtesy
                form['upload'] = None
                upload_note.set_text(f'That file is larger than {limit / 1e6:.0f} MB.')
                upload_note.classes(replace='text-sm text-negative')
            else:
                form['upload'] = await event.file.read()
                upload_note.set_text(f'✓ {event.file.name[:80]} ({len(form["upload"]) / 1e3:,.0f} kB)')
                upload_note.classes(replace='text-sm text-positive')
            changed()

        def rejected() -> None:
            upload_note.set_text(f'Choose a JPEG, PNG or WebP image up to '
                                 f'{services.settings.max_upload_bytes / 1e6:.0f} MB.')
            upload_note.classes(replace='text-sm text-negative')

        def reference() -> bytes | None:
            if image_mode.value == 'trial':
                return (TRIAL_DIR / f'{form["trial"]}.jpg').read_bytes()
            if image_mode.value == 'upload':
                if form['upload'] is None:
                    raise SubmitError('image', 'Upload an image first, or choose "None".')
                return form['upload']
            return None

        async def submit() -> None:
            if form['busy']:
                return
            form['busy'] = True
            generate.disable()
            error.set_text('')
            try:
                request = VideoRequest(prompt=prompt.value or '', model=model.value, size=size.value,
                                       seconds=seconds.value, image=reference())
                video = await services.videos.submit(user.id, request, form['key'])
            except SubmitError as failure:
                error.set_text(failure.message)
                if failure.field == 'prompt':
                    prompt.validate()
                return
            finally:
                form['busy'] = False
                generate.set_enabled(plan.can_generate)
            page.show_balance(services.credits.balance(user.id))
            if live_panel['video'] == video.id:
                ui.notify('This video is already on its way. Change the prompt or settings to make another.')
            else:
                live_panel['video'] = video.id
                live.clear()
                with live:
                    with ui.row().classes('w-full items-center'):
                        ui.label('Latest video').classes('text-xl font-semibold')
                        ui.space()
                        ui.link('Open video page', f'/videos/{video.id}').mark('video-link')
                    live_video(services, user, video,
                               on_finished=lambda _: page.show_balance(services.credits.balance(user.id)))

        live_panel = {'video': None}
        for element in (prompt, size, seconds, image_mode):
            element.on_value_change(changed)
        model.on_value_change(model_changed)
        pick_trial(form['trial'])


def _size_options(model: str) -> dict[str, str]:
    return {size: catalog.SIZE_LABELS[size] for size in catalog.sizes_for(model)}
